"""Link unpacked wheels from the store into an environment, with RECORD and rollback."""

from __future__ import annotations

from cloche.adapters.install.check import check
from cloche.adapters.install.installed import InstalledDist, damage, installed_distributions
from cloche.adapters.install.layout import (
    EnvLayout,
    InstallRequest,
    RecordRowLike,
    UnpackedWheelLike,
    env_lock,
)
from cloche.adapters.install.transaction import install, uninstall

__all__ = [
    "EnvLayout",
    "InstallRequest",
    "InstalledDist",
    "RecordRowLike",
    "UnpackedWheelLike",
    "check",
    "damage",
    "env_lock",
    "install",
    "installed_distributions",
    "uninstall",
]
