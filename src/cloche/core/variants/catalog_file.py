"""The build catalog's file: ``catalog.toml`` shipped beside this module, or a user's
replacement, read into plain data (``catalog.py`` makes the frozen values).

Apart so a command can ask which packages the catalog governs (``torch_family``)
without building the catalog's values.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from cloche.errors import UsageError

SHIPPED_CATALOG = Path(__file__).with_name("catalog.toml")
_FAMILY_DEFAULT = ("torch", "torchvision", "torchaudio")


class CatalogError(UsageError):
    """The build catalog (shipped or the user's ``variant-catalog``) is invalid."""


def read_catalog_data(where: Path, parsed: Path | None = None) -> dict[str, Any]:
    """The TOML document at ``where``.

    ``parsed``: a JSON file that keeps the parsed TOML, reused while the catalog file
    keeps its size and modification time (json parses in a tenth of tomllib's time).
    """
    try:
        stat = where.stat()
        stamp = f"{where.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        data = _read_parsed(parsed, stamp)
        if data is None:
            text = where.read_bytes().decode("utf-8", errors="replace")
            data = parse_catalog_toml(text, str(where))
            _write_parsed(parsed, stamp, data)
    except OSError as exc:
        raise CatalogError(f"cannot read the build catalog {where}: {exc.strerror}") from None
    return data


def torch_family(data: dict[str, Any]) -> tuple[str, ...]:
    """The packages built per torch variant, as the catalog's ``[torch] family`` lists them
    (a malformed entry is for ``catalog.py`` to explain; here it falls back)."""
    torch = data.get("torch")
    family = torch.get("family") if isinstance(torch, dict) else None
    if isinstance(family, list) and all(isinstance(name, str) for name in family):
        return tuple(family)
    return _FAMILY_DEFAULT


def parse_catalog_toml(text: str, where: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{where}: invalid TOML: {exc}") from None


def _read_parsed(parsed: Path | None, stamp: str) -> dict[str, Any] | None:
    if parsed is None:
        return None
    try:
        document = json.loads(parsed.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("stamp") != stamp:
        return None
    data = document.get("data")
    return data if isinstance(data, dict) else None


def _write_parsed(parsed: Path | None, stamp: str, data: dict[str, Any]) -> None:
    if parsed is None:
        return
    temporary = parsed.with_name(f".{parsed.name}.{os.getpid()}")
    try:
        parsed.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps({"stamp": stamp, "data": data}), encoding="utf-8")
        temporary.replace(parsed)
    except OSError:
        temporary.unlink(missing_ok=True)  # only the next run pays for parsing again
