"""Link unpacked wheels from the store into an environment, with RECORD and rollback.

The names below are loaded on first use: ``cloche venv --clear`` takes the env lock
(``layout``) and must not pay for the installer's imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "check": "check",
    "InstalledDist": "installed",
    "damage": "installed",
    "installed_distributions": "installed",
    "EnvLayout": "layout",
    "InstallRequest": "layout",
    "RecordRowLike": "layout",
    "UnpackedWheelLike": "layout",
    "env_lock": "layout",
    "install": "transaction",
    "uninstall": "transaction",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
