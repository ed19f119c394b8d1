"""The project model: what pyproject.toml (and .python-version) declare.

Reading only; edits that keep comments live in ``core.pyproject_edit``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from cloche.core.models import NormalizedName, UserRequirement, normalize, parse_dist_filename
from cloche.core.requirements.line import specifier_problem
from cloche.errors import ProjectError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

PYPROJECT = "pyproject.toml"
LOCKFILE = "pylock.toml"
PYTHON_VERSION_FILE = ".python-version"
DEFAULT_TARGETS = ("linux", "macos", "windows")


def _no_requirements() -> Mapping[NormalizedName, tuple[Requirement, ...]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class PathSource:
    """``[tool.cloche.sources] name = { path = "libs/x", editable = true }``: where a
    dependency named only by name comes from, relative to the project root (a
    directory, or a wheel or sdist file)."""

    path: str
    editable: bool = False


def _no_sources() -> Mapping[NormalizedName, PathSource]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ProjectSpec:
    """Everything cloche reads from a project's pyproject.toml."""

    root: Path
    name: str | None
    requires_python: SpecifierSet | None
    dependencies: tuple[Requirement, ...] = ()
    optional_dependencies: Mapping[NormalizedName, tuple[Requirement, ...]] = field(
        default_factory=_no_requirements
    )
    """Extras, with self-references (``proj[a]`` inside extra ``all``) expanded."""
    dependency_groups: Mapping[NormalizedName, tuple[Requirement, ...]] = field(
        default_factory=_no_requirements
    )
    """PEP 735 groups with ``include-group`` expanded."""
    tool: Mapping[str, Any] = field(default_factory=dict)
    """The raw ``[tool.cloche]`` table (for ``config.load_settings(project_table=...)``)."""
    targets: tuple[str, ...] = DEFAULT_TARGETS
    python: str | None = None
    """``[tool.cloche] python``, else the first line of ``.python-version``."""
    default_groups: tuple[NormalizedName, ...] = ()
    """Groups installed when none are named: ``[tool.cloche] default-groups``, else
    ``dev`` when the project has that group."""
    version: str | None = None
    """``[project] version`` when static (None when dynamic or absent)."""
    buildable: bool = False
    """The project has a ``[build-system]``: ``sync`` installs it into the env, editable."""
    sources: Mapping[NormalizedName, PathSource] = field(default_factory=_no_sources)
    """``[tool.cloche.sources]``: local directories for dependencies named by name."""

    @property
    def named(self) -> frozenset[NormalizedName]:
        """Every name in the dependencies, the extras and the groups."""
        lists = (
            self.dependencies,
            *self.optional_dependencies.values(),
            *self.dependency_groups.values(),
        )
        return frozenset(normalize(req.name) for reqs in lists for req in reqs)

    @property
    def pyproject_path(self) -> Path:
        return self.root / PYPROJECT

    @property
    def lock_path(self) -> Path:
        return self.root / LOCKFILE


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such file", hint="run 'cloche init'") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot read: {exc}") from None
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{path.name}: invalid TOML: {exc}") from None
    return data


def _declares_project(data: Mapping[str, Any]) -> bool:
    tool = data.get("tool")
    return "project" in data or (isinstance(tool, Mapping) and "cloche" in tool)


def find_project_root(start: Path) -> Path | None:
    """Nearest directory from ``start`` upward whose pyproject.toml has [project] or
    [tool.cloche]. A pyproject.toml that is not valid TOML counts, so that loading it
    reports the error instead of silently skipping to a parent project."""
    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / PYPROJECT
        if not candidate.is_file():
            continue
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return directory
        if _declares_project(data):
            return directory
    return None


class _Reader:
    """Typed access to a TOML document, with errors that name the file and key path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, key: str, message: str) -> ProjectError:
        return ProjectError(f"{self.path.name}: {key}: {message}")

    def table(self, value: object, key: str) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(key, f"expected a table, got {_type_name(value)}")
        return value

    def string(self, value: object, key: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {_type_name(value)}")
        return value

    def list_(self, value: object, key: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(key, f"expected an array, got {_type_name(value)}")
        return value

    def strings(self, value: object, key: str) -> list[str]:
        items = self.list_(value, key)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise self.error(f"{key}[{i}]", f"expected a string, got {_type_name(item)}")
        return items

    def requirements(self, value: object, key: str) -> tuple[Requirement, ...]:
        return tuple(
            self.requirement(item, f"{key}[{i}]") for i, item in enumerate(self.strings(value, key))
        )

    def requirement(self, text: str, key: str) -> Requirement:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise self.error(key, f"invalid requirement {text!r}: {exc}") from None
        problem = specifier_problem(req)
        if problem:
            raise self.error(key, f"invalid requirement {text!r}: {problem}")
        return req


def _type_name(value: object) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a float"}
    for kind, name in names.items():
        if type(value) is kind:
            return name
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__


def load_project(root: Path) -> ProjectSpec:
    """Read ``root/pyproject.toml`` (and ``root/.python-version``) into a ProjectSpec."""
    path = root / PYPROJECT
    data = _read_toml(path)
    reader = _Reader(path)
    project = reader.table(data.get("project"), "project")
    tool = reader.table(reader.table(data.get("tool"), "tool").get("cloche"), "tool.cloche")

    name = reader.string(project.get("name"), "project.name")
    requires_python = _specifier(reader, project.get("requires-python"), "project.requires-python")
    dependencies = reader.requirements(project.get("dependencies"), "project.dependencies")
    extras = _optional_dependencies(reader, project.get("optional-dependencies"), name)
    groups = _dependency_groups(reader, data.get("dependency-groups"))

    raw_targets = tool.get("targets", list(DEFAULT_TARGETS))
    targets = tuple(reader.strings(raw_targets, "tool.cloche.targets"))
    if not targets:
        raise reader.error("tool.cloche.targets", "must name at least one target")
    if len(set(targets)) != len(targets):
        raise reader.error("tool.cloche.targets", "lists a target twice")

    python = reader.string(tool.get("python"), "tool.cloche.python") or _python_version_file(root)
    default_groups = _default_groups(reader, tool.get("default-groups"), groups)
    sources = _sources(reader, tool.get("sources"))
    return ProjectSpec(
        root=root,
        name=name,
        requires_python=requires_python,
        dependencies=dependencies,
        optional_dependencies=MappingProxyType(extras),
        dependency_groups=MappingProxyType(groups),
        tool=MappingProxyType(dict(tool)),
        targets=targets,
        python=python,
        default_groups=default_groups,
        version=_version(reader, project.get("version")),
        buildable=isinstance(data.get("build-system"), Mapping) and name is not None,
        sources=MappingProxyType(sources),
    )


def _sources(reader: _Reader, value: object) -> dict[NormalizedName, PathSource]:
    out: dict[NormalizedName, PathSource] = {}
    for name, entry in reader.table(value, "tool.cloche.sources").items():
        key = f"tool.cloche.sources.{name}"
        table = reader.table(entry, key)
        unknown = sorted(set(table) - {"path", "editable"})
        if unknown:
            raise reader.error(key, f"unknown key {unknown[0]!r} (known: path, editable)")
        path = reader.string(table.get("path"), f"{key}.path")
        if not path:
            raise reader.error(
                key, "needs a path (a directory, wheel or sdist, relative to the project)"
            )
        editable = table.get("editable", False)
        if not isinstance(editable, bool):
            raise reader.error(f"{key}.editable", f"expected true or false, got {editable!r}")
        out[normalize(name)] = PathSource(path, editable)
    return out


def _version(reader: _Reader, value: object) -> str | None:
    text = reader.string(value, "project.version")
    if text is not None:
        from packaging.version import InvalidVersion, Version

        try:
            Version(text)
        except InvalidVersion:
            raise reader.error("project.version", f"invalid version {text!r}") from None
    return text


def _specifier(reader: _Reader, value: object, key: str) -> SpecifierSet | None:
    text = reader.string(value, key)
    if text is None:
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier as exc:
        raise reader.error(key, f"invalid version specifier {text!r}: {exc}") from None


def _python_version_file(root: Path) -> str | None:
    try:
        lines = (root / PYTHON_VERSION_FILE).read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{root / PYTHON_VERSION_FILE}: cannot read: {exc}") from None
    for line in lines:
        text = line.strip()
        if text and not text.startswith("#"):
            return text
    return None


def _optional_dependencies(
    reader: _Reader, value: object, project_name: str | None
) -> dict[NormalizedName, tuple[Requirement, ...]]:
    table = reader.table(value, "project.optional-dependencies")
    raw: dict[NormalizedName, tuple[Requirement, ...]] = {}
    for extra, items in table.items():
        key = f"project.optional-dependencies.{extra}"
        if normalize(extra) in raw:
            raise reader.error(key, "duplicate extra (names are compared normalized)")
        raw[normalize(extra)] = reader.requirements(items, key)
    if project_name is None:
        return raw
    own = normalize(project_name)
    return {extra: _expand_self_extras(reader, raw, own, extra, (extra,)) for extra in sorted(raw)}


def _expand_self_extras(
    reader: _Reader,
    raw: Mapping[NormalizedName, tuple[Requirement, ...]],
    own: NormalizedName,
    extra: NormalizedName,
    chain: tuple[NormalizedName, ...],
) -> tuple[Requirement, ...]:
    """Replace ``own[a, b]`` in an extra by the requirements of extras a and b."""
    out: list[Requirement] = []
    for req in raw[extra]:
        if normalize(req.name) != own:
            out.append(req)
            continue
        for sub in sorted(normalize(e) for e in req.extras):
            key = f"project.optional-dependencies.{extra}"
            if sub not in raw:
                raise reader.error(key, f"refers to unknown extra {sub!r} of the project")
            if sub in chain:
                cycle = " -> ".join((*chain, sub))
                raise reader.error(key, f"extras refer to each other in a cycle: {cycle}")
            for inner in _expand_self_extras(reader, raw, own, sub, (*chain, sub)):
                out.append(_with_marker(inner, req.marker))
    return tuple(out)


def _with_marker(req: Requirement, marker: Marker | None) -> Requirement:
    if marker is None:
        return req
    combined = Requirement(str(req))
    combined.marker = marker if req.marker is None else Marker(f"({req.marker}) and ({marker})")
    return combined


def _dependency_groups(
    reader: _Reader, value: object
) -> dict[NormalizedName, tuple[Requirement, ...]]:
    table = reader.table(value, "dependency-groups")
    raw: dict[NormalizedName, tuple[str, list[Any]]] = {}
    for group, items in table.items():
        key = f"dependency-groups.{group}"
        if normalize(group) in raw:
            raise reader.error(key, "duplicate group (names are compared normalized)")
        raw[normalize(group)] = (group, reader.list_(items, key))
    expanded: dict[NormalizedName, tuple[Requirement, ...]] = {}
    for group in sorted(raw):
        expanded[group] = _expand_group(reader, raw, group, (group,))
    return expanded


def _expand_group(
    reader: _Reader,
    raw: Mapping[NormalizedName, tuple[str, list[Any]]],
    group: NormalizedName,
    chain: tuple[NormalizedName, ...],
) -> tuple[Requirement, ...]:
    spelled, items = raw[group]
    out: list[Requirement] = []
    for i, item in enumerate(items):
        key = f"dependency-groups.{spelled}[{i}]"
        if isinstance(item, str):
            out.append(reader.requirement(item, key))
            continue
        if not isinstance(item, Mapping) or set(item) != {"include-group"}:
            raise reader.error(key, "expected a requirement string or {include-group = NAME}")
        target = reader.string(item["include-group"], f"{key}.include-group") or ""
        included = normalize(target)
        if included not in raw:
            raise reader.error(key, f"include-group {target!r} is not a dependency group")
        if included in chain:
            cycle = " -> ".join((*chain, included))
            raise reader.error(key, f"include-group cycle: {cycle}")
        out.extend(_expand_group(reader, raw, included, (*chain, included)))
    return tuple(out)


def _default_groups(
    reader: _Reader, value: object, groups: Mapping[NormalizedName, Any]
) -> tuple[NormalizedName, ...]:
    key = "tool.cloche.default-groups"
    if value is None:
        return (NormalizedName("dev"),) if "dev" in groups else ()
    names = [normalize(name) for name in reader.strings(value, key)]
    for name in names:
        if name not in groups:
            raise reader.error(key, f"{name!r} is not a dependency group")
    return tuple(dict.fromkeys(names))


def requirements_for(
    spec: ProjectSpec,
    *,
    groups: Iterable[str] = (),
    extras: Iterable[str] = (),
    all_groups: bool = False,
    all_extras: bool = False,
) -> list[UserRequirement]:
    """The project's requirements plus those of the named groups and extras.

    Unknown group or extra names raise UsageError listing the known ones.
    """
    chosen_groups = _pick(spec.dependency_groups, groups, all_groups, "dependency group")
    chosen_extras = _pick(spec.optional_dependencies, extras, all_extras, "extra")
    pairs = [(req, PYPROJECT) for req in spec.dependencies]
    for extra in chosen_extras:
        origin = f"{PYPROJECT} [project.optional-dependencies] {extra}"
        pairs.extend((req, origin) for req in spec.optional_dependencies[extra])
    for group in chosen_groups:
        origin = f"{PYPROJECT} [dependency-groups] {group}"
        pairs.extend((req, origin) for req in spec.dependency_groups[group])
    return [_sourced(spec, req, origin) for req, origin in pairs]


def _sourced(spec: ProjectSpec, req: Requirement, origin: str) -> UserRequirement:
    """``req``, pointed at its ``[tool.cloche.sources]`` directory or file when it has one."""
    source = spec.sources.get(normalize(req.name))
    if source is None or req.url:
        return UserRequirement(req, origin)
    key = f"tool.cloche.sources.{normalize(req.name)}"
    path = (spec.root / source.path).resolve()
    is_file = is_dist_file(path)
    if not is_file and not path.is_dir():
        raise ProjectError(
            f"{PYPROJECT}: {key}: {source.path} is not a directory, wheel or sdist "
            f"(paths are relative to {spec.root})"
        )
    if is_file and source.editable:
        raise ProjectError(
            f"{PYPROJECT}: {key}: {source.path} is a file; only a directory is editable"
        )
    if req.specifier:
        raise ProjectError(
            f"{origin}: {str(req)!r} has a version range, but {key} is a "
            f"{'file' if is_file else 'directory'}, which has one version; name it alone"
        )
    return UserRequirement(pointed_at(req, path.as_uri()), origin, editable=source.editable)


def is_dist_file(path: Path) -> bool:
    """A wheel or sdist file (by its name, as an index would list it)."""
    return path.is_file() and parse_dist_filename(path.name) is not None


def pointed_at(req: Requirement, url: str | None) -> Requirement:
    """``req``'s name, extras and marker, with ``url`` as its source (None: by name alone)."""
    text = req.name + (f"[{','.join(sorted(req.extras))}]" if req.extras else "")
    if url is not None:
        text += f" @ {url}"
    if req.marker is not None:
        text += f" ; {req.marker}"
    return Requirement(text)


def _pick(
    available: Mapping[NormalizedName, object], asked: Iterable[str], every: bool, what: str
) -> list[NormalizedName]:
    if every:
        return sorted(available)
    chosen = list(dict.fromkeys(normalize(name) for name in asked))
    unknown = [name for name in chosen if name not in available]
    if unknown:
        known = ", ".join(sorted(available)) or "none"
        raise UsageError(f"unknown {what} {unknown[0]!r} in {PYPROJECT} (defined: {known})")
    return chosen
