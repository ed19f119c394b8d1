"""Reading a lock: pylock.toml text or file -> a validated ``Pylock``."""

from __future__ import annotations

import sys
from pathlib import Path

from packaging.pylock import Pylock, PylockValidationError

from cloche.core.project.spec import LOCKFILE
from cloche.errors import ProjectError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]


def parse_lock(text: str, *, source: str = LOCKFILE) -> Pylock:
    """Validate pylock.toml text; errors name ``source`` and the key path."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{source}: invalid TOML: {exc}") from None
    try:
        return Pylock.from_dict(data)
    except PylockValidationError as exc:
        where = f"{source}: {exc.context}" if exc.context else source
        hint = "run 'cloche lock' to write it again"
        raise ProjectError(f"{where}: {exc.message}", hint=hint) from None


def load_lock(path: Path) -> Pylock:
    """Read and validate a pylock.toml file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"no {path.name} in {path.parent}; run 'cloche lock'") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot read: {exc}") from None
    return parse_lock(text, source=path.name)
