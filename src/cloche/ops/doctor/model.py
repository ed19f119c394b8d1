"""What a doctor check sees (one environment, read once) and what it reports."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from cloche.adapters.install import InstalledDist
from cloche.core.models import Interpreter
from cloche.core.project.spec import ProjectSpec
from cloche.core.variants.machine import Machine
from cloche.core.variants.model import Catalog, CudaPolicy


class Severity(Enum):
    ERROR = "error"
    """Something that breaks imports or installs now."""
    WARNING = "warning"
    """Something that is likely to break later, or hides a mistake."""


class FixKind(Enum):
    """The fixes ``doctor --fix`` may apply on its own (each is undoable by a reinstall)."""

    REINSTALL = "reinstall"
    REMOVE_DIST_INFO = "remove-dist-info"
    SYNC = "sync"


@dataclass(frozen=True, slots=True)
class Fix:
    """A safe fix: what ``--fix`` does, on which package or path."""

    kind: FixKind
    name: str = ""
    version: str = ""
    path: Path | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: how bad, what it is, the evidence, and how to fix it."""

    check: str
    severity: Severity
    what: str
    evidence: tuple[str, ...] = ()
    command: str | None = None
    """The command that fixes it, for a person to run."""
    fix: Fix | None = None
    """What ``--fix`` may do about it on its own; None when no fix is safe."""

    def as_json(self) -> dict[str, object]:
        return {
            "check": self.check,
            "severity": self.severity.value,
            "what": self.what,
            "evidence": list(self.evidence),
            "fix_command": self.command,
            "auto_fix": None if self.fix is None else self.fix.kind.value,
        }


@dataclass(frozen=True, slots=True)
class GpuContext:
    """The machine and the build catalog for the GPU checks; ``load`` runs detection
    (cached on disk), so a check calls it only when a framework is installed."""

    load: Callable[[], tuple[Catalog, Machine]]
    policy: CudaPolicy = CudaPolicy.COMPATIBLE


@dataclass(frozen=True, slots=True)
class DoctorEnv:
    """One environment as the checks read it, without importing anything from it."""

    prefix: Path
    site_dirs: tuple[Path, ...]
    python_version: str
    """X.Y, from the interpreter or pyvenv.cfg."""
    interpreter: Interpreter | None
    """None when the env's Python cannot run (its base interpreter is gone)."""
    dists: tuple[InstalledDist, ...]
    marker_env: dict[str, str]
    cwd: Path
    project: ProjectSpec | None = None
    """The project whose ``.venv`` this is, if any."""
    venv_config: dict[str, str] = field(default_factory=dict)
    """``pyvenv.cfg`` keys and values (empty when the env is not a venv)."""
    gpu: GpuContext | None = None
    """None: the GPU checks are skipped."""

    @property
    def python_command(self) -> str:
        """How the fix commands name this env."""
        return f"--python {self.prefix}"


Check = Callable[[DoctorEnv], Iterable[Finding]]
