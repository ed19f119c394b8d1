"""Isolated build environments for PEP 517 builds, made by cloche itself.

Each build gets a fresh venv (no pip) whose build requirements are resolved and
linked from the store like any install: the install itself is handed in at
construction (as uv's build context), so this module knows nothing of it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from cloche.core.models import Interpreter
from cloche.ops.venv_create import create_venv

InstallInto = Callable[[Interpreter, Sequence[str]], None]
"""Resolve requirement strings and install them into the environment of an interpreter."""


class BuildEnv:
    """One isolated build environment (satisfies adapters.build.backend.BuildEnvironment)."""

    def __init__(self, interpreter: Interpreter, install: InstallInto) -> None:
        self.interpreter = interpreter
        self._install = install

    @property
    def python(self) -> Path:
        return Path(self.interpreter.executable)

    @property
    def scripts_dir(self) -> Path:
        return Path(self.interpreter.scheme["scripts"])

    def install(self, requirements: Sequence[str]) -> None:
        if requirements:
            self._install(self.interpreter, requirements)


class IsolatedBuildEnvs:
    """A BuildEnvironmentFactory over cloche's own venvs, resolver and installer."""

    def __init__(self, base: Interpreter | Callable[[], Interpreter], install: InstallInto) -> None:
        self._base = base
        self._install = install

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
            yield BuildEnv(interpreter, self._install)
        finally:
            shutil.rmtree(root, ignore_errors=True)
