"""Exact pins served from the store, without the index.

A wheel an index listed under ``name==version`` is the same file the next time, so
an install whose every package is pinned exactly (``pip sync``, or ``pip install -r``
of a complete pinned file) can resolve from the wheels the store already holds from
that index (and the kept builds of its sdists), and read no index page at all. uv
does the same with its cached registry wheels. Whenever the store cannot answer,
the caller asks the index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from cloche.adapters.store import Store, UnpackedWheel
from cloche.config import Settings
from cloche.core.finder import PickFiles
from cloche.core.models import (
    DistFile,
    Interpreter,
    Metadata,
    NormalizedName,
    Resolution,
    ResolvedPackage,
    Target,
    wheel_fits,
)
from cloche.core.resolver import ResolveOptions
from cloche.core.resolver.model import is_exact_pin, marker_applies
from cloche.core.resolver.releases import Release, ReleaseTable, tag_ranks
from cloche.ops.build_keys import build_variant, variant_key
from cloche.ops.requirements import Asked


class NotStored(Exception):
    """The store cannot answer this install on its own; the index must be asked."""


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


class StoredFinder:
    """A PackageFinder over the store's files from one index, for pinned names only.

    It lists the wheels the store holds unpacked, and the sdists whose build for
    this interpreter it kept; any other question raises NotStored.
    """

    def __init__(
        self,
        store: Store,
        index: str,
        pins: Mapping[NormalizedName, SpecifierSet],
        *,
        build_variant: str | None,
        wheel_fits: Callable[[str], bool],
    ) -> None:
        self._store = store
        self._index = index
        self._pins = pins
        self._variant = build_variant
        self._fits = wheel_fits
        self._wheels: dict[str, UnpackedWheel] = {}

    def files(self, name: NormalizedName) -> Sequence[DistFile]:
        spec = self._pins.get(name)
        if spec is None:
            raise NotStored(f"{name} is not pinned")
        listed = self._store.origins.listed(
            self._index, name, lambda v: spec.contains(v, prereleases=True)
        )
        files = [f for f in listed if self._held(f)]
        if not files:
            raise NotStored(f"no stored wheel of {name} {spec}")
        return files

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

    def metadata(self, file: DistFile) -> Metadata:
        from cloche.core.metadata import parse_core_metadata  # not needed by pip sync

        wheel = self.wheel(file)
        try:
            data = (wheel.path / wheel.dist_info / "METADATA").read_bytes()
        except OSError:
            raise NotStored(f"{file.filename} has no readable METADATA in the store") from None
        return parse_core_metadata(data, source=file.filename)

    def direct_metadata(self, requirement: Requirement) -> tuple[Metadata, DistFile | None]:
        raise NotStored(f"{requirement} names a URL")

    def prefetch(self, names: Iterable[NormalizedName], then: PickFiles | None = None) -> None:
        pass

    def prefetch_metadata(self, files: Iterable[DistFile]) -> None:
        pass

    def wheel(self, file: DistFile) -> UnpackedWheel:
        """The unpacked wheel of a file this finder listed (an sdist's: of its build)."""
        sha256 = file.sha256 or ""
        found = self._wheels.get(sha256)
        if found is None:
            if file.is_wheel:
                found = self._store.unpacked_dist(file)
            else:
                built = self._built(file)
                found = self._store.unpacked_file(built) if built is not None else None
            if found is None:
                raise NotStored(f"{file.filename} left the store")
            self._wheels[sha256] = found
        return found


def stored_finder(
    settings: Settings, asked: Asked, interpreter: Interpreter, *, upgrade: bool
) -> StoredFinder | None:
    """A finder that answers ``asked`` from the store alone, when that is allowed.

    None when the index must be asked anyway: an upgrade, anything not pinned
    exactly, several indexes or find-links, ``--refresh``.
    """
    if upgrade:
        return None
    index = single_index(settings)
    pins = exact_pins(asked)
    if index is None or not pins:
        return None
    return StoredFinder(
        Store(settings.cache_dir),
        index,
        pins,
        build_variant=build_variant(settings),
        wheel_fits=lambda filename: wheel_fits(filename, interpreter.tags),
    )


def pinned_resolution(
    asked: Asked, finder: StoredFinder, target: Target, options: ResolveOptions
) -> Resolution:
    """Each pin's best stored wheel, for installs that read no dependencies (``pip sync``).

    With nothing to read there is nothing to resolve; whatever the store cannot
    answer raises NotStored, and the resolver (with the index) has the last word.
    """
    specs = _applicable_specs(asked, target.markers)
    origins: dict[NormalizedName, list[str]] = {}
    for user in asked.requirements:
        if user.name in specs:
            origins.setdefault(user.name, []).append(user.origin)
    ranks = tag_ranks(target.tag_priority())
    packages = []
    for name in sorted(specs):
        table = ReleaseTable(name, finder.files(name), target, ranks, options.file_policy(name))
        release = _best_release(table, specs[name])
        if release is None:
            raise NotStored(f"no stored wheel of {name} fits")
        packages.append(
            ResolvedPackage(
                name=name,
                version=release.version,
                files=release.files,
                chosen=release.chosen,
                requested_by=tuple(dict.fromkeys(origins[name])),
                requires_python=release.requires_python,
            )
        )
    return Resolution(target=target, packages=tuple(packages))


def _applicable_specs(asked: Asked, env: dict[str, str]) -> dict[NormalizedName, SpecifierSet]:
    """Every package a requirement asks for in ``env``, with all that restricts it there."""
    specs: dict[NormalizedName, SpecifierSet] = {}
    for user in asked.requirements:
        if marker_applies(user.requirement.marker, env):
            specs[user.name] = specs.get(user.name, SpecifierSet()) & user.requirement.specifier
    for user in asked.constraints:
        if user.name in specs and marker_applies(user.requirement.marker, env):
            specs[user.name] &= user.requirement.specifier
    return specs


def _best_release(table: ReleaseTable, spec: SpecifierSet) -> Release | None:
    """The newest release ``spec`` allows with a file the target can install."""
    return next((r for r in table.matching([spec]) if r.chosen is not None), None)


class PinnedWheelsAhead:
    """A PickFiles that starts each exact pin's wheel as soon as the pin's page arrives.

    The wheel is the file the resolver will choose (the same release table, the same
    ranking); ``start`` puts it into the store (see ``ops/ahead.py``). It picks no
    metadata itself: with dependencies to read, the resolver's own PickFiles does.
    Pins the environment already satisfies start nothing.
    """

    def __init__(
        self,
        start: Callable[[DistFile], None],
        asked: Asked,
        target: Target,
        options: ResolveOptions,
        installed: Mapping[NormalizedName, Version],
    ) -> None:
        self._start = start
        specs = _applicable_specs(asked, target.markers)
        direct = {u.name for u in asked.requirements if u.requirement.url or u.editable}
        self._pins = {
            name: spec
            for name, spec in specs.items()
            if is_exact_pin(spec)
            and name not in direct
            and not (name in installed and spec.contains(installed[name], prereleases=True))
        }
        self._allowed: dict[NormalizedName, set[str]] = {}
        for user in asked.requirements:  # --hash: a wheel outside them fails the install
            for algorithm, digest in user.hashes:
                if algorithm == "sha256":
                    self._allowed.setdefault(user.name, set()).add(digest)
        self._target = target
        self._ranks = tag_ranks(target.tag_priority())
        self._options = options

    def __bool__(self) -> bool:
        """Whether any pin may start a wheel."""
        return bool(self._pins)

    def __call__(self, name: NormalizedName, files: Sequence[DistFile]) -> tuple[DistFile, ...]:
        spec = self._pins.get(name)
        if spec is not None:
            policy = self._options.file_policy(name)
            release = _best_release(
                ReleaseTable(name, files, self._target, self._ranks, policy), spec
            )
            chosen = release.chosen if release is not None else None
            allowed = self._allowed.get(name)
            if (
                chosen is not None
                and chosen.is_wheel
                and chosen.sha256
                and (allowed is None or chosen.sha256 in allowed)
            ):
                self._start(chosen)
        return ()

    def on_metadata(self, file: DistFile, metadata: Metadata) -> None:
        pass  # none is asked for
