"""A static package index over a folder of files: PEP 503 HTML and PEP 691 JSON pages.

A static server cannot negotiate content types, so both forms are written side by
side: ``simple/index.html`` and ``simple/<name>/index.html`` (what pip, uv and cloche
read from ``.../simple/`` and ``.../simple/<name>/``), and ``index.json`` beside each
(for a client that asks for the JSON form by its own URL). Links are relative
(``../../wheels/<file>``), so the tree works wherever it is served from.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

API_VERSION = "1.1"


@dataclass(frozen=True, slots=True)
class IndexedFile:
    """One file the index lists: its project, name, sha256, size and Python range."""

    project: str
    """The normalized project name."""
    filename: str
    sha256: str
    size: int
    requires_python: str | None = None


def _href(file: IndexedFile, files_dir: str) -> str:
    return f"../../{files_dir}/{quote(file.filename)}"


def root_html(projects: Sequence[str]) -> str:
    links = "".join(f'    <a href="{quote(p)}/">{html.escape(p)}</a><br>\n' for p in projects)
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta name="pypi:repository-version" content="1.1">\n'
        "    <title>Simple index</title>\n  </head>\n  <body>\n"
        f"{links}  </body>\n</html>\n"
    )


def root_json(projects: Sequence[str]) -> str:
    document = {"meta": {"api-version": API_VERSION}, "projects": [{"name": p} for p in projects]}
    return json.dumps(document, indent=1) + "\n"


def project_html(project: str, files: Sequence[IndexedFile], files_dir: str) -> str:
    lines = []
    for file in files:
        python = (
            f' data-requires-python="{html.escape(file.requires_python)}"'
            if file.requires_python
            else ""
        )
        href = f"{_href(file, files_dir)}#sha256={file.sha256}"
        lines.append(f'    <a href="{href}"{python}>{html.escape(file.filename)}</a><br>\n')
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta name="pypi:repository-version" content="1.1">\n'
        f"    <title>Links for {html.escape(project)}</title>\n  </head>\n  <body>\n"
        f"    <h1>Links for {html.escape(project)}</h1>\n{''.join(lines)}  </body>\n</html>\n"
    )


def project_json(
    project: str, files: Sequence[IndexedFile], versions: Sequence[str], files_dir: str
) -> str:
    entries: list[Mapping[str, object]] = [
        {
            "filename": file.filename,
            "url": _href(file, files_dir),
            "hashes": {"sha256": file.sha256},
            "size": file.size,
            **({"requires-python": file.requires_python} if file.requires_python else {}),
        }
        for file in files
    ]
    document = {
        "meta": {"api-version": API_VERSION},
        "name": project,
        "versions": list(versions),
        "files": entries,
    }
    return json.dumps(document, indent=1) + "\n"
