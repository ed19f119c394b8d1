"""The machine's files and platform as detection sees them: a root directory (``/``
normally; a test's tmp dir holds a fake ``proc/``, ``sys/`` and ``opt/``) and the
platform names."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from platform import machine as _machine_name


@dataclass(frozen=True, slots=True)
class Host:
    """Where detection looks: the filesystem root and the platform."""

    root: Path = Path("/")
    platform: str = sys.platform
    machine: str = field(default_factory=_machine_name)

    def path(self, absolute: str) -> Path:
        """``/proc/driver/nvidia/version`` under this host's root."""
        return self.root / absolute.lstrip("/")

    def read(self, absolute: str) -> str | None:
        """The text of a small system file, stripped; None when missing or unreadable."""
        try:
            return self.path(absolute).read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return None

    def boot_id(self) -> str:
        """The kernel's id for this boot (Linux); ``unknown`` elsewhere."""
        return self.read("/proc/sys/kernel/random/boot_id") or "unknown"
