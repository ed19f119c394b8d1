"""The machine's files and platform as detection sees them: a root directory (``/``
normally; a test's tmp dir holds a fake ``proc/``, ``sys/`` and ``opt/``) and the
platform names."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Host:
    """Where detection looks: the filesystem root and the platform."""

    root: Path = Path("/")
    platform: str = sys.platform
    machine: str | None = None
    """The CPU architecture (``arm64``); None: ask the platform module when needed."""

    def cpu_architecture(self) -> str:
        if self.machine is not None:
            return self.machine
        import platform  # costs milliseconds; only Apple detection asks, on a cold run

        return platform.machine()

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
