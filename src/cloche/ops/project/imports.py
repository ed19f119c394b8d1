"""``cloche import requirements.txt``: a requirements-file project into pyproject.toml.

Only the text is prepared here; it is locked and written by ``ops.project.edit`` like
any other edit, so a file that cannot be resolved leaves nothing behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from packaging.requirements import Requirement

from cloche.core.models import Interpreter
from cloche.core.project.spec import PYPROJECT, PathSource
from cloche.core.pyproject_edit import add_requirements, new_pyproject, set_sources
from cloche.core.requirements.file import RequirementsFile, parse_requirements_file
from cloche.errors import ProjectError, RequirementError
from cloche.ops.project.edit import as_source


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """The pyproject.toml an import would write, before it is written."""

    root: Path
    old_text: str | None
    """The existing pyproject.toml, or None when the import creates it."""
    new_text: str
    count: int
    notes: tuple[str, ...] = ()


def plan_import(
    root: Path, requirements: Path, old_text: str | None, interpreter: Interpreter
) -> ImportPlan:
    """The pyproject.toml text with ``requirements``' dependencies and index options added."""
    parsed = parse_requirements_file(requirements)
    _refuse_unsupported(parsed, requirements)
    # Index options as written: a ``${TOKEN}`` stays a reference, expanded when used.
    written = parse_requirements_file(requirements, environ={})
    secrets = _Secrets()
    if not parsed.requirements:
        raise RequirementError(f"{requirements}: no requirements to import")
    text = old_text
    if text is None:
        version = interpreter.version
        text = new_pyproject(project_name(root), f">={version.major}.{version.minor}")
    reqs: list[Requirement] = []
    sources: dict[str, PathSource] = {}
    for user in parsed.requirements:
        sourced = as_source(root, user.requirement, editable=user.editable)
        if sourced is None:
            reqs.append(secrets.requirement(user.requirement))
        else:
            reqs.append(sourced[0])
            sources[user.name] = sourced[1]
    text = set_sources(add_requirements(text, reqs), sources)
    text = with_index_options(text, _index_options(written, secrets))
    notes = list(secrets.notes())
    if any(r.hashes for r in parsed.requirements):
        notes.append(
            f"--hash values were not copied: {PYPROJECT} holds ranges; pylock.toml "
            "records the hash of every file it locks"
        )
    return ImportPlan(root, old_text, text, len(parsed.requirements), tuple(notes))


def project_name(root: Path) -> str:
    """A valid project name made from a directory name."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", root.name).strip("-._")
    return name or "project"


def _refuse_unsupported(parsed: RequirementsFile, path: Path) -> None:
    if parsed.unnamed:
        raise parsed.unnamed[0].refusal()
    for req in parsed.requirements:
        if req.editable and as_source(path.parent, req.requirement, editable=True) is None:
            raise RequirementError(
                f"{req.origin}: only local directories can be imported editable; "
                f"add {req.name} by URL, without -e"
            )
    if parsed.constraints:
        raise RequirementError(
            f"{parsed.constraints[0].origin}: constraints (-c) cannot be imported; "
            "add the versions you need to the requirements instead"
        )
    if parsed.no_binary or parsed.only_binary or parsed.no_index:
        option = (
            "--no-binary"
            if parsed.no_binary
            else ("--only-binary" if parsed.only_binary else "--no-index")
        )
        raise RequirementError(
            f"{path}: {option} has no [tool.cloche] equivalent; remove it and import again"
        )


@dataclass(slots=True)
class _Secrets:
    """Credentials taken out of URLs before they are written (``${NAME}`` references,
    which PEP 610 allows, stay: they are expanded only when used)."""

    hosts: list[str] = field(default_factory=list)

    def url(self, url: str) -> str:
        from cloche.core.direct_url import public_url

        public = public_url(url)
        if public != url:
            host = urlsplit(public).hostname or public
            if host not in self.hosts:
                self.hosts.append(host)
        return public

    def requirement(self, req: Requirement) -> Requirement:
        if req.url is None:
            return req
        public = self.url(req.url)
        if public == req.url:
            return req
        cleaned = Requirement(str(req))
        cleaned.url = public
        return cleaned

    def notes(self) -> list[str]:
        if not self.hosts:
            return []
        return [
            f"the credentials for {', '.join(self.hosts)} were not written to {PYPROJECT}: "
            "put them in ~/.netrc, or write them as an environment variable reference "
            "(https://user:${TOKEN}@host/...) in the requirements file and import again"
        ]


def _index_options(parsed: RequirementsFile, secrets: _Secrets) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if parsed.index_url:
        options["index-url"] = secrets.url(parsed.index_url)
    if parsed.extra_index_urls:
        options["extra-index-url"] = [secrets.url(u) for u in parsed.extra_index_urls]
    if parsed.find_links:
        options["find-links"] = [secrets.url(u) for u in parsed.find_links]
    if parsed.pre:
        options["prerelease"] = True
    return options


def with_index_options(text: str, options: dict[str, Any]) -> str:
    """``text`` with ``options`` (index-url, ...) set in [tool.cloche]."""
    if not options:
        return text
    import tomlkit
    from tomlkit.items import Table

    doc = tomlkit.parse(text)
    tool = doc.get("tool")
    if tool is None:
        tool = tomlkit.table(is_super_table=True)
        doc.add("tool", tool)
    cloche = tool.get("cloche") if isinstance(tool, Table) else None
    if not isinstance(tool, Table) or (cloche is not None and not isinstance(cloche, Table)):
        raise ProjectError(f"{PYPROJECT}: tool.cloche: expected a table")
    if cloche is None:
        cloche = tomlkit.table()
        tool.add("cloche", cloche)
    for key, value in options.items():
        cloche[key] = value
    return tomlkit.dumps(doc)
