"""The files that start a wheel's programs: entry-point launchers and ``#!python`` scripts.

On POSIX a launcher is a small Python file with the environment's interpreter in its
shebang, written here without the ``installer`` package: its import chain (``email``,
``zipfile``, ``importlib.resources``) cost more than linking a mid-sized wheel, on a
path every sync takes. Windows launchers are ``.exe`` stubs that ``installer`` ships;
they are taken from it there.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache

_ENTRY = re.compile(r"^(?P<module>[\w.]+)\s*:\s*(?P<attr>[\w.]+)\s*(\[[^\]]*\])?\s*$")
_SECTIONS = {"console_scripts": "console", "gui_scripts": "gui"}
_SHEBANG_MAX = 127  # what the kernel reads of a #! line, terminator included
_TEMPLATE = """\
import re
import sys
from {module} import {head}
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit({attr}())
"""


@dataclass(frozen=True)
class EntryPoint:
    """One ``console_scripts`` / ``gui_scripts`` entry: ``name = module:attr``."""

    name: str
    module: str
    attr: str
    section: str  # "console" or "gui"


def parse_entry_points(text: str) -> list[EntryPoint]:
    """The script entries of an ``entry_points.txt``; ValueError for a malformed one."""
    import configparser

    config = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    config.optionxform = str  # type: ignore[assignment, method-assign]
    try:
        config.read_string(text)
    except configparser.Error as exc:
        raise ValueError(str(exc).splitlines()[0]) from None
    entries = []
    for section, kind in _SECTIONS.items():
        if not config.has_section(section):
            continue
        for name, value in config.items(section):
            match = _ENTRY.match(value)
            if match is None:
                raise ValueError(f"{name} = {value!r} is not 'module:function'")
            entries.append(EntryPoint(name, match["module"], match["attr"], kind))
    return entries


def launcher(entry: EntryPoint, python: str) -> tuple[str, bytes]:
    """The file name and content of the launcher for ``entry`` run by ``python``."""
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        return _windows_launcher(entry, python)
    code = _TEMPLATE.format(
        module=entry.module, head=entry.attr.split(".")[0], attr=entry.attr
    ).encode("utf-8")
    return entry.name, shebang(python) + b"\n" + code


def shebang(python: str) -> bytes:
    """A ``#!`` line that runs ``python``, through ``/bin/sh`` where the kernel cannot
    (a space in the path, or a line longer than the kernel reads)."""
    raw = python.encode("utf-8")
    if b" " not in raw and len(raw) + 3 <= _SHEBANG_MAX:
        return b"#!" + raw
    import shlex

    quoted = shlex.quote(python).encode("utf-8")
    # Valid as sh (exec the interpreter on this file) and as Python (a string literal).
    return b"#!/bin/sh\n'''exec' " + quoted + b' "$0" "$@"\n' + b"' '''"


def rewrite_shebang(content: bytes, python: str) -> bytes:
    """A wheel's ``.data/scripts`` file with ``#!python`` pointed at ``python``."""
    if not content.startswith(b"#!python"):
        return content
    _first, newline, rest = content.partition(b"\n")
    return f"#!{python}\n".encode() + (rest if newline else b"")


def make_executable(path: str | os.PathLike[str]) -> None:
    """Executable by all who may read it, as the umask allows."""
    os.chmod(path, 0o777 & ~_umask() | 0o111)  # noqa: PTH101


@cache
def _umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it
    os.umask(mask)
    return mask


def _windows_launcher(entry: EntryPoint, python: str) -> tuple[str, bytes]:  # pragma: no cover
    from typing import Literal

    from installer.scripts import Script
    from installer.utils import get_launcher_kind

    section: Literal["console", "gui"] = "gui" if entry.section == "gui" else "console"
    script = Script(entry.name, entry.module, entry.attr, section)
    return script.generate(python, get_launcher_kind())
