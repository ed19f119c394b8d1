"""Exact pins answered from the store, without the index.

A wheel an index listed under ``name==version`` is the same file the next time, so
an install whose every package is pinned exactly (``pip sync``, or ``pip install -r``
of a complete pinned file) can be answered from the wheels the store already holds
from that index (and the kept builds of its sdists), reading no index page at all.
uv does the same with its cached registry wheels.

The answer is a value: a resolution, or None when the store cannot give the whole
of it (then the index is asked, and has the last word, errors included).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from cloche.adapters.store import Store, UnpackedWheel
from cloche.config import Settings
from cloche.core.models import (
    DistFile,
    Interpreter,
    Metadata,
    NormalizedName,
    Resolution,
    ResolvedPackage,
    Target,
    normalize,
    wheel_fits,
)
from cloche.core.resolver import ResolveOptions
from cloche.core.resolver.model import is_exact_pin, marker_applies
from cloche.core.resolver.releases import Release, ReleaseTable, tag_ranks
from cloche.ops.prepare.build_keys import build_variant, variant_key
from cloche.ops.requirements import Asked


def single_index(settings: Settings) -> str | None:
    """The one index every file would come from; None with extra indexes or find-links.

    ``--refresh`` asks for the index's current answer, so it gets no shortcut either.
    """
    if settings.refresh or settings.find_links or len(settings.index_urls) != 1:
        return None
    from cloche.adapters.index.auth import redact

    return redact(settings.index_urls[0])


def exact_pins(asked: Asked) -> dict[NormalizedName, SpecifierSet] | None:
    """The specifier of every package asked for, when each is an exact ``==`` pin.

    Constraints pin packages the requirements do not name (their dependencies).
    None when anything asked for is a URL, a path, an editable or a range.
    """
    if asked.unnamed:
        return None
    pins: dict[NormalizedName, SpecifierSet] = {}
    for user in asked.requirements:
        if not _plain_pin(user.requirement) or user.editable:
            return None
        pins[user.name] = pins.get(user.name, SpecifierSet()) & user.requirement.specifier
    for user in asked.constraints:
        if _plain_pin(user.requirement):
            pins[user.name] = pins.get(user.name, SpecifierSet()) & user.requirement.specifier
    return pins


def _plain_pin(requirement: Requirement) -> bool:
    return requirement.url is None and is_exact_pin(requirement.specifier)


class StoredFiles:
    """The store's files of pinned names from one index: the wheels it holds unpacked,
    and the sdists whose build for this interpreter it kept."""

    def __init__(
        self,
        store: Store,
        index: str,
        *,
        build_variant: str | None,
        wheel_fits: Callable[[str], bool],
    ) -> None:
        self._store = store
        self._index = index
        self._variant = build_variant
        self._fits = wheel_fits

    def files(self, name: NormalizedName, spec: SpecifierSet) -> list[DistFile]:
        listed = self._store.origins.listed(
            self._index, name, lambda v: spec.contains(v, prereleases=True)
        )
        return [f for f in listed if self._held(f)]

    def _held(self, file: DistFile) -> bool:
        if not file.sha256:
            return False
        if file.is_wheel:
            return self._store.is_unpacked(file.sha256)
        return self._built(file) is not None

    def _built(self, file: DistFile) -> Path | None:
        """The kept build of the sdist ``file`` for this interpreter."""
        if self._variant is None or not file.sha256:
            return None
        return self._store.built_wheel(variant_key(file.sha256, self._variant), self._fits)

    def wheel(self, file: DistFile) -> UnpackedWheel | None:
        """The unpacked wheel of a file listed here (an sdist's: of its build)."""
        if file.is_wheel:
            return self._store.unpacked_dist(file)
        built = self._built(file)
        return self._store.unpacked_file(built) if built is not None else None

    def metadata(self, file: DistFile) -> Metadata | None:
        from cloche.core.metadata import parse_core_metadata  # not needed by pip sync

        wheel = self.wheel(file)
        if wheel is None:
            return None
        try:
            data = (wheel.path / wheel.dist_info / "METADATA").read_bytes()
        except OSError:
            return None
        return parse_core_metadata(data, source=file.filename)


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """A resolution the store gave alone, and where its wheels are."""

    resolution: Resolution
    files: StoredFiles


def stored_resolution(
    store: Store,
    settings: Settings,
    asked: Asked,
    interpreter: Interpreter,
    options: ResolveOptions,
    *,
    read_dependencies: bool,
) -> StoredAnswer | None:
    """What ``asked`` resolves to from the store alone; None when the index must answer.

    Without dependencies to read (``pip sync``, ``--no-deps``) each pin is its best
    stored wheel. With them, the pins must be a closed set: every dependency of every
    chosen wheel (markers and extras applied) pinned too, to a version its specifier
    allows; any gap, conflict, upgrade, range, URL, second index or ``--refresh`` is
    left to the index.
    """
    index = single_index(settings)
    pins = exact_pins(asked)
    if index is None or not pins:
        return None
    stored = StoredFiles(
        store,
        index,
        build_variant=build_variant(settings),
        wheel_fits=lambda filename: wheel_fits(filename, interpreter.tags),
    )
    target = interpreter.target()
    specs = applicable_specs(asked, target.markers)
    picker = _Picker(stored, target, options)
    packages: dict[NormalizedName, ResolvedPackage] = {}
    extras: dict[NormalizedName, set[str]] = {}
    origins: dict[NormalizedName, list[str]] = {}
    for user in asked.requirements:
        if user.name in specs:
            origins.setdefault(user.name, []).append(user.origin)
            extras.setdefault(user.name, set()).update(user.requirement.extras)
    todo = sorted(specs)
    while todo:
        name = todo.pop()
        release = picker.best(name, specs[name])
        if release is None:
            return None
        dependencies: list[NormalizedName] = []
        if read_dependencies:
            found = _dependencies(stored, release, target, extras.get(name, set()))
            if found is None:
                return None
            for dep in found:
                dep_name = normalize(dep.name)
                dependencies.append(dep_name)
                origins.setdefault(dep_name, []).append(name)
                grew = not set(dep.extras) <= extras.setdefault(dep_name, set())
                extras[dep_name].update(dep.extras)
                if dep_name not in specs:
                    if dep_name not in pins:
                        return None  # a dependency nobody pinned: the index decides
                    specs[dep_name] = pins[dep_name]
                    todo.append(dep_name)
                elif grew and dep_name in packages:
                    todo.append(dep_name)  # its new extras may need more
                specs[dep_name] &= dep.specifier
        packages[name] = _resolved(name, release, dependencies)
    for name, package in packages.items():
        if not specs[name].contains(package.version, prereleases=True):
            return None  # a dependency wants another version than the pin: a conflict
    resolution = Resolution(
        target=target,
        packages=tuple(_with_origins(packages[n], origins.get(n, [])) for n in sorted(packages)),
    )
    return StoredAnswer(resolution, stored)


class _Picker:
    """The best stored release of a pinned name, as the resolver would rank it."""

    def __init__(self, stored: StoredFiles, target: Target, options: ResolveOptions) -> None:
        self._stored = stored
        self._target = target
        self._options = options
        self._ranks = tag_ranks(target.tag_priority())

    def best(self, name: NormalizedName, spec: SpecifierSet) -> Release | None:
        files = self._stored.files(name, spec)
        if not files:
            return None
        policy, hashes = self._options.file_policy(name), self._options.allowed_sha256(name)
        table = ReleaseTable(name, files, self._target, self._ranks, policy, hashes)
        return best_release(table, spec)


def _dependencies(
    stored: StoredFiles, release: Release, target: Target, extras: set[str]
) -> list[Requirement] | None:
    """What ``release`` requires on ``target`` with ``extras``; None when unreadable or
    when its Requires-Python excludes the target."""
    assert release.chosen is not None
    metadata = stored.metadata(release.chosen)
    if metadata is None:
        return None
    python = metadata.requires_python
    if python is not None and not python.contains(target.python_version, prereleases=True):
        return None
    wanted = ("", *sorted(extras))
    return [r for r in metadata.requires_dist if marker_applies(r.marker, target.markers, wanted)]


def _resolved(
    name: NormalizedName, release: Release, dependencies: Sequence[NormalizedName]
) -> ResolvedPackage:
    return ResolvedPackage(
        name=name,
        version=release.version,
        files=release.files,
        chosen=release.chosen,
        dependencies=tuple(dict.fromkeys(dependencies)),
        requires_python=release.requires_python,
    )


def _with_origins(package: ResolvedPackage, origins: Sequence[str]) -> ResolvedPackage:
    return replace(package, requested_by=tuple(dict.fromkeys(origins)))


def applicable_specs(asked: Asked, env: Mapping[str, str]) -> dict[NormalizedName, SpecifierSet]:
    """Every package a requirement asks for in ``env``, with all that restricts it there."""
    specs: dict[NormalizedName, SpecifierSet] = {}
    markers = dict(env)
    for user in asked.requirements:
        if marker_applies(user.requirement.marker, markers):
            specs[user.name] = specs.get(user.name, SpecifierSet()) & user.requirement.specifier
    for user in asked.constraints:
        if user.name in specs and marker_applies(user.requirement.marker, markers):
            specs[user.name] &= user.requirement.specifier
    return specs


def best_release(table: ReleaseTable, spec: SpecifierSet) -> Release | None:
    """The newest release ``spec`` allows with a file the target can install."""
    return next((r for r in table.matching([spec]) if r.chosen is not None), None)
