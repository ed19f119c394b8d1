"""Isolated build environments for PEP 517 builds, made by cloche itself.

Each build gets a fresh venv (no pip) whose build requirements are resolved and
linked from the store like any install.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from cloche.adapters.venv import create_venv
from cloche.config import Settings
from cloche.core.models import Interpreter, UserRequirement
from cloche.core.report import Reporter
from cloche.core.requirements.file import parse_requirement
from cloche.core.resolver import resolve

if TYPE_CHECKING:
    from cloche.ops.sources import Sources


class BuildEnv:
    """One isolated build environment (satisfies adapters.build.BuildEnvironment)."""

    def __init__(self, interpreter: Interpreter, factory: IsolatedBuildEnvs) -> None:
        self.interpreter = interpreter
        self._factory = factory

    @property
    def python(self) -> Path:
        return Path(self.interpreter.executable)

    @property
    def scripts_dir(self) -> Path:
        return Path(self.interpreter.scheme["scripts"])

    def install(self, requirements: Sequence[str]) -> None:
        self._factory.install_into(self.interpreter, requirements)


class IsolatedBuildEnvs:
    """A BuildEnvironmentFactory over cloche's own venvs, resolver and installer."""

    def __init__(
        self, base: Interpreter | Callable[[], Interpreter], settings: Settings, reporter: Reporter
    ) -> None:
        self._base = base
        self.settings = settings
        self.reporter = reporter
        self.sources: Sources | None = None
        """Bound after construction: the Sources that own the builder that owns this factory."""

    @property
    def base(self) -> Interpreter:
        """The interpreter build environments are made from, found on first use: most
        commands never build anything, and finding an interpreter can mean probing."""
        if not isinstance(self._base, Interpreter):
            self._base = self._base()
        return self._base

    @contextmanager
    def create(self) -> Iterator[BuildEnv]:
        root = Path(tempfile.mkdtemp(prefix="cloche-build-env-"))
        try:
            interpreter = create_venv(root / "env", self.base)
            yield BuildEnv(interpreter, self)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def install_into(self, interpreter: Interpreter, requirements: Sequence[str]) -> None:
        from cloche.ops.install import apply_plan, layout_for, plan_for, wanted_from

        if not requirements:
            return
        assert self.sources is not None, "IsolatedBuildEnvs used before bind()"
        reqs: list[UserRequirement] = [
            parse_requirement(text, "build-system.requires") for text in requirements
        ]
        resolution = resolve(reqs, self.sources, interpreter.target())
        wanted = wanted_from(resolution, reqs)
        layout = layout_for(interpreter)
        plan = plan_for(layout, wanted)
        apply_plan(layout, plan, self.sources, self.settings, self.reporter)

    def bind(self, sources: Sources) -> None:
        self.sources = sources
