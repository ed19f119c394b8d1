"""Writing a lock: deterministic pylock.toml text.

The common shapes of a lock are written directly (``_plain_toml``); anything else
goes through tomlkit, which gives the same text for those shapes, only slower.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from packaging.pylock import Pylock
from packaging.version import Version


def dump_lock(lock: Pylock) -> str:
    """Deterministic pylock.toml text: packages sorted by name, version, marker."""
    data = dict(lock.to_dict())
    try:
        return _plain_toml(data)
    except _NotPlain:
        return _tomlkit_toml(data)


def _tomlkit_toml(data: dict[str, Any]) -> str:
    import tomlkit  # only writers pay for it; `sync` only reads

    doc = tomlkit.document()
    for key, value in data.items():
        if key not in ("packages", "tool"):
            doc.add(key, _toml_value(value))
    packages = tomlkit.aot()
    for package in sorted(data.get("packages", []), key=_dict_order):
        table = tomlkit.table()
        for key, value in package.items():
            table.add(key, _toml_value(value))
        packages.append(table)
    doc.add("packages", packages)
    if "tool" in data:
        doc.add("tool", _toml_table(data["tool"]))
    return tomlkit.dumps(doc)


def _toml_value(value: Any) -> Any:
    """Inline tables, and arrays of inline tables one per line."""
    import tomlkit

    if isinstance(value, Mapping):
        inline = tomlkit.inline_table()
        for key in sorted(value) if _is_hash_table(value) else value:
            inline.append(key, _toml_value(value[key]))
        return inline
    if isinstance(value, list | tuple):
        array = tomlkit.array()
        for item in value:
            array.append(_toml_value(item))
        if len(value) > 1 or any(isinstance(item, Mapping) for item in value):
            array.multiline(True)
        return array
    if isinstance(value, str) and '"' in value and "'" not in value and "\n" not in value:
        return tomlkit.string(value, literal=True)  # markers read better without escapes
    return value


class _NotPlain(Exception):
    """A value _plain_toml does not write exactly as tomlkit would."""


def _plain_toml(data: Mapping[str, Any]) -> str:
    """The text ``_tomlkit_toml`` writes, for the common shapes of a lock, ten times faster.

    Raises _NotPlain for anything else (odd strings, nested tool tables, no packages).
    """
    packages, tool = data.get("packages"), data.get("tool")
    if not packages or (tool is not None and set(tool) != {"cloche"}):
        raise _NotPlain
    lines = [
        f"{_plain_key(k)} = {_plain(v)}" for k, v in data.items() if k not in ("packages", "tool")
    ]
    for package in sorted(packages, key=_dict_order):
        lines += ["", "[[packages]]"]
        lines += [f"{_plain_key(k)} = {_plain(v)}" for k, v in package.items()]
    if tool is not None:
        cloche = tool["cloche"]
        if not isinstance(cloche, Mapping) or any(isinstance(v, Mapping) for v in cloche.values()):
            raise _NotPlain
        lines += ["", "[tool.cloche]"]
        lines += [f"{_plain_key(k)} = {_plain(v)}" for k, v in cloche.items()]
    return "\n".join(lines) + "\n"


def _plain_key(key: str) -> str:
    if not key or not all(c.isascii() and (c.isalnum() or c in "-_") for c in key):
        raise _NotPlain
    return key


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _plain_string(value)
    if isinstance(value, datetime):
        return _plain_datetime(value)
    if isinstance(value, Mapping):
        keys = sorted(value) if _is_hash_table(value) else list(value)
        if any(isinstance(value[k], list | tuple) for k in keys):
            raise _NotPlain
        return "{" + ", ".join(f"{_plain_key(k)} = {_plain(value[k])}" for k in keys) + "}"
    if isinstance(value, list | tuple):
        if len(value) > 1 or any(isinstance(item, Mapping) for item in value):
            return "[\n" + "".join(f"    {_plain(item)},\n" for item in value) + "]"
        if any(isinstance(item, list | tuple) for item in value):
            raise _NotPlain
        return "[" + "".join(_plain(item) for item in value) + "]"
    raise _NotPlain


def _plain_string(value: str) -> str:
    if not all(c.isascii() and c.isprintable() for c in value) or "\\" in value:
        raise _NotPlain
    if '"' in value and "'" not in value:
        return f"'{value}'"
    if '"' in value:
        raise _NotPlain
    return f'"{value}"'


def _plain_datetime(value: datetime) -> str:
    offset = value.utcoffset()
    if offset is None or offset.total_seconds() != 0:
        raise _NotPlain
    return value.replace(tzinfo=None).isoformat() + "Z"


def _dict_order(package: Mapping[str, Any]) -> tuple[str, Version, str]:
    version = package.get("version")
    return package["name"], Version(version) if version else Version("0"), package.get("marker", "")


def _is_hash_table(value: Mapping[str, Any]) -> bool:
    return all(isinstance(v, str) for v in value.values())


def _toml_table(value: Mapping[str, Any]) -> Any:
    import tomlkit

    table = tomlkit.table(is_super_table=all(isinstance(v, Mapping) for v in value.values()))
    for key, item in value.items():
        table.add(key, _toml_table(item) if isinstance(item, Mapping) else _toml_value(item))
    return table
