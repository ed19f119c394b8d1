"""Read-only views of an environment: list, outdated, show, check, freeze."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import Version

from cloche.adapters.install import EnvLayout, InstalledDist, check, installed_distributions
from cloche.core.dep_graph import Graph, Root
from cloche.core.direct_url import recorded_url
from cloche.core.models import Interpreter, NormalizedName, normalize
from cloche.core.requirements.pins import render_freeze
from cloche.core.resolver.options import FilePolicy
from cloche.core.resolver.releases import releases_for, tag_ranks
from cloche.ops.layouts import layout_for

if TYPE_CHECKING:
    from cloche.ops.services import Services


@dataclass(frozen=True, slots=True)
class Outdated:
    """An installed distribution with a newer release on the index."""

    name: str
    version: Version
    latest: Version


@dataclass(frozen=True, slots=True)
class ShowInfo:
    """What ``cloche pip show`` prints for one distribution."""

    dist: InstalledDist
    fields: tuple[tuple[str, str], ...]


def installed(interpreter: Interpreter, paths: Sequence[Path] = ()) -> list[InstalledDist]:
    """The environment's distributions; with ``paths``, those in these directories
    instead (``--target`` directories, other site-packages)."""
    own = layout_for(interpreter)
    if not paths:
        return sorted(installed_distributions(own), key=lambda d: d.name)
    found: dict[tuple[str, Version], InstalledDist] = {}
    for path in paths:
        where = path.absolute()
        for dist in installed_distributions(replace(own, purelib=where, platlib=where)):
            found.setdefault((dist.name, dist.version), dist)
    return sorted(found.values(), key=lambda d: d.name)


@dataclass(frozen=True, slots=True)
class Listed:
    """One row of ``pip list``."""

    name: str
    version: Version
    editable_location: str | None
    """The project directory of an editable install, else None."""


def listing(
    interpreter: Interpreter,
    paths: Sequence[Path] = (),
    *,
    editable: bool | None = None,
    exclude: frozenset[str] = frozenset(),
    not_required: bool = False,
) -> list[Listed]:
    """pip list: installed distributions, filtered as pip's switches do.

    ``editable`` True keeps only editable installs, False leaves them out;
    ``not_required`` keeps those no other installed distribution depends on.
    """
    dists = installed(interpreter, paths)
    required = {name for dist in dists for name in _requirement_names(dist)}
    rows = []
    for dist in dists:
        url, is_editable = recorded_url(dist.direct_url)
        if dist.name in exclude or (not_required and dist.name in required):
            continue
        if editable is not None and is_editable != editable:
            continue
        location = _file_path(url) if is_editable and url else None
        rows.append(Listed(dist.display_name or dist.name, dist.version, location))
    return rows


def _file_path(url: str) -> str:
    from cloche.adapters.index.download import local_path

    return str(local_path(url)) if url.startswith("file:") else url


def freeze(
    interpreter: Interpreter,
    *,
    exclude: frozenset[str] = frozenset(),
    paths: Sequence[Path] = (),
    exclude_editable: bool = False,
) -> str:
    rows = []
    for dist in installed(interpreter, paths):
        if dist.name in exclude:
            continue
        url, editable = recorded_url(dist.direct_url)
        if editable and exclude_editable:
            continue
        shown = f"-e {_editable_url(url, dist.name)}" if editable and url else url
        rows.append((dist.display_name or dist.name, str(dist.version), shown))
    return render_freeze(rows)


def _editable_url(url: str, name: str) -> str:
    """An editable install's source as pip freeze gives it: ``git+<origin>@<commit>``
    when the directory is a git checkout with an origin (as ``-e git+...`` leaves in
    ``<venv>/src``), else its file URL."""
    if not url.startswith("file:"):
        return url
    from cloche.adapters.build.vcs import checkout_url

    directory = Path(_file_path(url))
    return (directory.is_dir() and checkout_url(directory, name)) or url


def outdated(
    interpreter: Interpreter, services: Services, paths: Sequence[Path] = ()
) -> list[Outdated]:
    """Installed distributions with a newer release usable on this interpreter."""
    settings = services.settings
    dists = installed(interpreter, paths)
    target = interpreter.target()
    ranks = tag_ranks(target.tag_priority())
    out = []
    client = services.client()
    client.prefetch(d.name for d in dists)
    for dist in dists:
        if dist.direct_url is not None:
            continue
        releases = releases_for(dist.name, client.files(dist.name), target, ranks, FilePolicy.ANY)
        allow_pre = dist.version.is_prerelease or settings.prerelease
        for release in releases:
            if release.chosen is None or release.yanked:
                continue
            if release.version.is_prerelease and not allow_pre:
                continue
            if release.version > dist.version:
                out.append(Outdated(dist.display_name or dist.name, dist.version, release.version))
            break
    return out


def show(interpreter: Interpreter, names: list[str]) -> tuple[list[ShowInfo], list[str]]:
    """pip show: metadata fields of each named distribution, and the names not installed."""
    dists = installed(interpreter)
    by_name = {d.name: d for d in dists}
    required_by: dict[NormalizedName, list[str]] = {}
    for dist in dists:
        for name in _requirement_names(dist):
            required_by.setdefault(name, []).append(dist.display_name or dist.name)
    found: list[ShowInfo] = []
    missing: list[str] = []
    for raw in names:
        match = by_name.get(normalize(raw))
        if match is None:
            missing.append(raw)
            continue
        dist = match
        meta = _metadata_headers(dist.dist_info / "METADATA")
        fields = (
            ("Name", dist.display_name or dist.name),
            ("Version", str(dist.version)),
            ("Summary", meta.get("Summary", "")),
            ("Home-page", meta.get("Home-page", "")),
            ("Author", meta.get("Author", "") or meta.get("Author-email", "")),
            ("License", meta.get("License", "") or meta.get("License-Expression", "")),
            ("Location", str(dist.dist_info.parent)),
            ("Requires", ", ".join(sorted(_requirement_names(dist)))),
            ("Required-by", ", ".join(sorted(required_by.get(dist.name, [])))),
            ("Installer", dist.installer or ""),
        )
        found.append(ShowInfo(dist, fields))
    return found, missing


def env_graph(interpreter: Interpreter) -> Graph:
    """The installed distributions and what each requires (for this interpreter's
    markers, extras left out); the roots are those nothing else requires."""
    dists = installed(interpreter)
    environment = {**dict(interpreter.marker_env), "extra": ""}
    versions = {d.name: [str(d.version)] for d in dists}
    dependencies = {
        dist.name: sorted(
            n for n in _requirement_names(dist, environment) if n in versions and n != dist.name
        )
        for dist in dists
    }
    required = {child for children in dependencies.values() for child in children}
    roots = [n for n in sorted(versions) if n not in required]
    # Packages that only require each other (a cycle) are nobody's dependency
    # from outside: the first of each such group is a root too.
    reached: set[NormalizedName] = set()

    def reach(start: NormalizedName) -> None:
        stack = [start]
        while stack:
            current = stack.pop()
            if current not in reached:
                reached.add(current)
                stack.extend(dependencies.get(current, []))

    for root in roots:
        reach(root)
    for name in sorted(versions):
        if name not in reached:
            roots.append(name)
            reach(name)
    return Graph.of(versions, dependencies, [Root(n, "") for n in sorted(roots)])


def check_env(interpreter: Interpreter) -> list[str]:
    return check(layout_for(interpreter), dict(interpreter.marker_env))


def broken_by(
    layout: EnvLayout, markers: Mapping[str, str], changed: Collection[NormalizedName]
) -> list[str]:
    """``pip check``'s lines that involve ``changed``: a changed package's unmet
    requirements, and the packages whose requirement a changed one no longer meets
    (what pip warns about after an install)."""
    from packaging.requirements import InvalidRequirement, Requirement

    dists = installed_distributions(layout)
    by_name = {normalize(d.name): d for d in dists}
    environment = {**markers, "extra": ""}
    problems = []
    for dist in dists:
        for line in dist.requires:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            name = normalize(req.name)
            if name not in changed and normalize(dist.name) not in changed:
                continue
            if req.marker is not None and not req.marker.evaluate(environment):
                continue
            found = by_name.get(name)
            wanted = f"{req.name}{req.specifier}"
            if found is None:
                problems.append(
                    f"{dist.name} {dist.version} requires {wanted}, which is not installed"
                )
            elif not req.specifier.contains(found.version, prereleases=True):
                problems.append(
                    f"{dist.name} {dist.version} requires {wanted}, "
                    f"but {found.name} {found.version} is installed"
                )
    return problems


def _requirement_names(
    dist: InstalledDist, environment: dict[str, str] | None = None
) -> list[NormalizedName]:
    """What ``dist`` requires, extras left out; with ``environment`` (markers), only
    the requirements that apply there."""
    from packaging.requirements import InvalidRequirement, Requirement

    names: list[NormalizedName] = []
    for line in dist.requires:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is not None:
            if environment is not None:
                applies = req.marker.evaluate(environment)
            else:
                applies = "extra" not in str(req.marker)
            if not applies:
                continue
        if normalize(req.name) not in names:
            names.append(normalize(req.name))
    return names


def _metadata_headers(path: Path) -> dict[str, str]:
    try:
        with path.open("rb") as fh:
            message = BytesHeaderParser().parse(fh)
    except OSError:
        return {}
    return {k: str(v) for k, v in message.items()}
