"""Edits to pyproject.toml text that keep comments, ordering and formatting.

Functions take and return the file's text; reading and writing the file is the
caller's job, so a failed resolve can leave the file untouched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Array, Table
from tomlkit.toml_document import TOMLDocument

from cloche.core.models import NormalizedName, normalize
from cloche.core.project.spec import PYPROJECT, PathSource
from cloche.errors import ProjectError, UsageError

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def new_pyproject(name: str, requires_python: str, *, description: str = "") -> str:
    """The text of a fresh pyproject.toml for ``cloche init``."""
    if not name or not set(name) <= _NAME_CHARS or not name[0].isalnum() or not name[-1].isalnum():
        raise UsageError(f"{name!r} is not a valid project name (letters, digits, '.', '_', '-')")
    try:
        SpecifierSet(requires_python)
    except InvalidSpecifier:
        raise UsageError(f"{requires_python!r} is not a valid requires-python specifier") from None
    doc = tomlkit.document()
    project = tomlkit.table()
    project.add("name", name)
    project.add("version", "0.1.0")
    if description:
        project.add("description", description)
    project.add("requires-python", requires_python)
    project.add("dependencies", tomlkit.array())
    doc.add("project", project)
    return tomlkit.dumps(doc)


def add_requirements(
    text: str,
    reqs: Sequence[Requirement],
    *,
    group: str | None = None,
    optional: str | None = None,
) -> str:
    """Add (or replace, keeping the position) requirements in one dependency list.

    The list is ``project.dependencies``, the extra ``optional`` or the PEP 735
    group ``group``; a missing table or list is created. A list that is sorted
    stays sorted; otherwise new entries are appended. Lists are written one item
    per line with a trailing comma.
    """
    doc = _parse(text)
    array = _target_array(doc, group=group, optional=optional, create=True)
    assert array is not None
    for req in reqs:
        _add_one(array, req)
    if "\n" not in array.as_string():
        array.multiline(True)
    return tomlkit.dumps(doc)


def remove_requirements(
    text: str,
    names: Sequence[str],
    *,
    group: str | None = None,
    optional: str | None = None,
) -> tuple[str, list[str]]:
    """Remove every entry for each name from one dependency list.

    Returns the new text and the names (as given) that had no entry.
    """
    doc = _parse(text)
    array = _target_array(doc, group=group, optional=optional, create=False)
    missing: list[str] = []
    for name in names:
        wanted = normalize(name)
        positions = [] if array is None else _positions(array, wanted)
        if not positions:
            missing.append(name)
            continue
        assert array is not None
        for index in reversed(positions):
            del array[index]
    return tomlkit.dumps(doc), missing


def set_sources(text: str, sources: Mapping[str, PathSource]) -> str:
    """Write ``[tool.cloche.sources]`` entries (``name = { path = ..., editable = true }``),
    replacing any for the same names; the tables are created when missing."""
    if not sources:
        return text
    doc = _parse(text)
    tool = _child_table(doc, "tool", create=True)
    assert tool is not None
    cloche = _nested_table(tool, "cloche", "tool")
    table = _nested_table(cloche, "sources", "tool.cloche")
    for name, source in sources.items():
        key = _existing_key(table, name) or name
        entry = tomlkit.inline_table()
        entry["path"] = source.path
        if source.editable:
            entry["editable"] = True
        table[key] = entry
    return tomlkit.dumps(doc)


def remove_sources(text: str, names: Sequence[str]) -> str:
    """Drop the ``[tool.cloche.sources]`` entries of ``names`` (those that have one)."""
    doc = _parse(text)
    tool = doc.get("tool")
    cloche = tool.get("cloche") if isinstance(tool, Table) else None
    table = cloche.get("sources") if isinstance(cloche, Table) else None
    if not isinstance(table, Table):
        return text
    for name in names:
        key = _existing_key(table, name)
        if key is not None:
            del table[key]
    if not table:
        assert isinstance(cloche, Table)
        del cloche["sources"]
    return tomlkit.dumps(doc)


def _nested_table(parent: Table, key: str, where: str) -> Table:
    child = parent.get(key)
    if child is None:
        child = tomlkit.table()
        parent.add(key, child)
    if not isinstance(child, Table):
        raise ProjectError(f"{PYPROJECT}: {where}.{key}: expected a table")
    return child


def _parse(text: str) -> TOMLDocument:
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ProjectError(f"{PYPROJECT}: invalid TOML: {exc}") from None


def _target_array(
    doc: TOMLDocument, *, group: str | None, optional: str | None, create: bool
) -> Array | None:
    if group is not None and optional is not None:
        raise UsageError("choose either a dependency group or an extra, not both")
    project = doc.get("project")
    if group is not None:
        container = _child_table(doc, "dependency-groups", create=create)
        key_path = "dependency-groups"
        wanted_key = group
    else:
        if project is None and not create:
            return None
        if not isinstance(project, Table):
            raise ProjectError(f"{PYPROJECT}: project: missing [project] table; run 'cloche init'")
        if optional is None:
            container, key_path, wanted_key = project, "project", "dependencies"
        else:
            container = _child_table(project, "optional-dependencies", create=create)
            key_path, wanted_key = "project.optional-dependencies", optional
    if container is None:
        return None
    key = _existing_key(container, wanted_key)
    if key is None:
        if not create:
            return None
        container.add(wanted_key, tomlkit.array())
        key = wanted_key
    array = container[key]
    if not isinstance(array, Array):
        raise ProjectError(f"{PYPROJECT}: {key_path}.{key}: expected an array")
    return array


def _child_table(parent: TOMLDocument | Table, key: str, *, create: bool) -> Table | None:
    child = parent.get(key)
    if child is None:
        if not create:
            return None
        child = tomlkit.table()
        parent.add(key, child)
        return child
    if not isinstance(child, Table):
        where = key if isinstance(parent, TOMLDocument) else f"project.{key}"
        raise ProjectError(f"{PYPROJECT}: {where}: expected a table")
    return child


def _existing_key(container: Table, wanted: str) -> str | None:
    """The key as spelled in the file that names the same group/extra as ``wanted``."""
    target = canonicalize_name(wanted)
    for key in container:
        if canonicalize_name(str(key)) == target:
            return str(key)
    return None


def _entry_name(item: object) -> NormalizedName | None:
    if not isinstance(item, str):
        return None  # an {include-group = ...} table, or something we leave alone
    try:
        return normalize(Requirement(item).name)
    except InvalidRequirement:
        return None


def _positions(array: Array, name: NormalizedName) -> list[int]:
    return [i for i, item in enumerate(array) if _entry_name(item) == name]


def _add_one(array: Array, req: Requirement) -> None:
    name = normalize(req.name)
    text = str(req)
    positions = _positions(array, name)
    if positions:
        array[positions[0]] = text
        for index in reversed(positions[1:]):
            del array[index]
        return
    names = [_entry_name(item) for item in array]
    if names and all(n is not None for n in names) and names == sorted(names):  # type: ignore[type-var]
        index = next((i for i, n in enumerate(names) if n is not None and n > name), len(names))
        array.insert(index, text)
    else:
        array.append(text)
