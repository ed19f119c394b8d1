"""What a user can ask for with ``--python``: a version, a specifier, a name, or a path."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from cloche.adapters.python.cache import looks_like_path, request_path
from cloche.core.models import Interpreter
from cloche.errors import InterpreterNotFound

_VERSION = r"\d+(?:\.\d+){0,2}"
_NAMED = re.compile(rf"^(?P<name>python|pypy|cpython|graalpy)(?P<version>{_VERSION})?$")
_AT = re.compile(rf"^(?P<name>python|pypy|cpython|graalpy)@(?P<version>{_VERSION})$")
_IMPLEMENTATIONS = {"python": None, "cpython": "cpython", "pypy": "pypy", "graalpy": "graalpy"}


@dataclass(frozen=True, slots=True)
class PythonRequest:
    """A parsed ``--python`` value; ``path`` set means "this file or directory"."""

    text: str
    implementation: str | None = None
    specifier: SpecifierSet | None = None
    path: Path | None = None

    def matches(self, interpreter: Interpreter) -> bool:
        """Whether a probed interpreter satisfies the implementation and version asked for."""
        if self.implementation and interpreter.implementation != self.implementation:
            return False
        return self.specifier is None or self.specifier.contains(
            interpreter.version, prereleases=True
        )


def parse_request(text: str, cwd: Path | None = None) -> PythonRequest:
    """Parse ``3.10``, ``>=3.10,<3.12``, ``python3.12``, ``pypy3``, ``cpython@3.11`` or a path.

    A bare word that names an existing directory here (``--python myenv``) is a path.
    """
    stripped = text.strip()
    if looks_like_path(stripped) or (stripped and ((cwd or Path.cwd()) / stripped).is_dir()):
        where = None if cwd is None else os.fspath(cwd)
        return PythonRequest(text, path=Path(request_path(stripped, where)))
    match = _NAMED.match(stripped) or _AT.match(stripped)
    if match:
        version = match.group("version")
        return PythonRequest(
            text,
            implementation=_IMPLEMENTATIONS[match.group("name")],
            specifier=_version_prefix(version) if version else None,
        )
    if re.fullmatch(_VERSION, stripped):
        return PythonRequest(text, specifier=_version_prefix(stripped))
    try:
        specifier = SpecifierSet(stripped)
    except InvalidSpecifier:
        specifier = None
    if specifier is None or not stripped:
        raise InterpreterNotFound(
            f"invalid Python request {text!r}; expected a version (3.11), a specifier "
            "('>=3.10,<3.12'), a name (python3.12, pypy3, cpython@3.11) or a path"
        )
    return PythonRequest(text, specifier=specifier)


def _version_prefix(version: str) -> SpecifierSet:
    # "3.10" means any 3.10.x, "3.10.13" exactly that release.
    if version.count(".") == 2:
        return SpecifierSet(f"=={version}")
    return SpecifierSet(f"=={version}.*")
