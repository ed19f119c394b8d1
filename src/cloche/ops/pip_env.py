"""The pip-compatible use cases: install, sync, uninstall into one environment."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

from cloche.config import Settings
from cloche.core.finder import PackageFinder, PickFiles
from cloche.core.models import (
    DistFile,
    Interpreter,
    Metadata,
    NormalizedName,
    Resolution,
    normalize,
)
from cloche.core.report import NullReporter, Reporter
from cloche.core.resolver import ResolveOptions, resolve
from cloche.errors import ClocheError, HashMismatchError, RequirementError
from cloche.ops.install import (
    Plan,
    apply_plan,
    apply_stored,
    check_wheels_fit,
    layout_for,
    plan_for,
    prefix_layout,
    present_in,
    target_layout,
    waiting_notice,
    wanted_from,
    with_allowed_hashes,
)
from cloche.ops.pinned import NotStored, PinnedWheelsAhead, pinned_resolution, stored_finder
from cloche.ops.requirements import Asked, settings_with_file_options

KEPT_BY_SYNC = frozenset(normalize(n) for n in ("pip", "setuptools", "wheel"))
"""What ``pip sync`` leaves in place unless the file lists it, as pip-sync does: the
tools a venv was seeded with (``python -m venv``, ``cloche venv --seed``)."""


@dataclass(frozen=True, slots=True)
class InstallOptions:
    """The pip-style switches of one install or sync."""

    upgrade: bool = False
    eager: bool = False
    """``--upgrade-strategy eager``: an upgrade also takes dependencies to their newest."""
    no_deps: bool = False
    require_hashes: bool = False
    reinstall: bool = False
    dry_run: bool = False
    explicit_flags: Mapping[str, Any] = field(default_factory=dict)
    target: Path | None = None
    """``--target DIR``: install into DIR (packages at its top) instead of the env."""
    prefix: Path | None = None
    """``--prefix DIR``: install under DIR with the interpreter's own layout."""
    src: Path | None = None
    """``--src DIR``: where editable VCS checkouts are kept (default: ``<venv>/src``)."""


class _NoDeps:
    """A PackageFinder view that hides every dependency (``--no-deps``, ``pip sync``)."""

    def __init__(self, inner: PackageFinder, ahead: PickFiles | None = None) -> None:
        """``ahead`` is told each page as it arrives (see ``PinnedWheelsAhead``)."""
        self._inner = inner
        self._ahead = ahead

    def files(self, name: NormalizedName) -> Sequence[DistFile]:
        return self._inner.files(name)

    def metadata(self, file: DistFile) -> Metadata:
        if file.is_wheel:
            # A wheel's name and version are in its filename and its Requires-Python
            # in the index listing, so nothing needs to be read.
            return Metadata(file.name, file.version, requires_python=file.requires_python)
        return replace(self._inner.metadata(file), requires_dist=())

    def direct_metadata(self, requirement: Requirement) -> tuple[Metadata, DistFile | None]:
        meta, file = self._inner.direct_metadata(requirement)
        return replace(meta, requires_dist=()), file

    def prefetch(self, names: Iterable[NormalizedName], then: PickFiles | None = None) -> None:
        # No dependencies are read, so no metadata to fetch; only ``ahead`` is told.
        self._inner.prefetch(names, self._ahead)

    def prefetch_metadata(self, files: Iterable[DistFile]) -> None:
        pass


class _Ahead:
    """A PackageFinder view that also tells ``ahead`` each page as it arrives."""

    def __init__(self, inner: PackageFinder, ahead: PickFiles) -> None:
        self._inner = inner
        self._ahead = ahead

    def files(self, name: NormalizedName) -> Sequence[DistFile]:
        return self._inner.files(name)

    def metadata(self, file: DistFile) -> Metadata:
        return self._inner.metadata(file)

    def direct_metadata(self, requirement: Requirement) -> tuple[Metadata, DistFile | None]:
        return self._inner.direct_metadata(requirement)

    def prefetch(self, names: Iterable[NormalizedName], then: PickFiles | None = None) -> None:
        self._inner.prefetch(names, self._ahead if then is None else _Both(self._ahead, then))

    def prefetch_metadata(self, files: Iterable[DistFile]) -> None:
        self._inner.prefetch_metadata(files)


class _Both:
    """Two PickFiles as one: ``first`` is told, ``then`` picks."""

    def __init__(self, first: PickFiles, then: PickFiles) -> None:
        self._first = first
        self._then = then

    def __call__(self, name: NormalizedName, files: Sequence[DistFile]) -> Iterable[DistFile]:
        self._first(name, files)
        return self._then(name, files)

    def on_metadata(self, file: DistFile, metadata: Metadata) -> None:
        self._first.on_metadata(file, metadata)
        self._then.on_metadata(file, metadata)


def install_requirements(
    interpreter: Interpreter,
    asked: Asked,
    settings: Settings,
    options: InstallOptions,
    reporter: Reporter | None = None,
    *,
    exact: bool = False,
) -> Plan:
    """Resolve what was asked for this environment and install it (``pip install``).

    With ``exact`` (``pip sync``) everything not asked for is removed and nothing is
    resolved beyond the listed pins.
    """
    reporter = reporter or NullReporter()
    if not asked.requirements and not asked.unnamed and not exact:
        raise RequirementError("nothing to install: name packages, or use -r requirements.txt")
    settings = settings_with_file_options(settings, asked.files, options.explicit_flags)
    if options.target is not None:
        layout = target_layout(interpreter, options.target, settings.cache_dir / "locks")
    elif options.prefix is not None:
        layout = prefix_layout(interpreter, options.prefix, settings.cache_dir / "locks")
    else:
        layout = layout_for(interpreter)
    present = present_in(layout)
    upgrade_names = (
        frozenset(r.name for r in asked.requirements) if options.upgrade else frozenset()
    )
    resolve_options = ResolveOptions(
        constraints=asked.constraints,
        preferences=tuple((p.name, p.version) for p in present),
        upgrade=options.upgrade and options.eager,
        upgrade_packages=upgrade_names,
        prerelease=settings.prerelease,
        no_binary=asked.files.no_binary if asked.files else frozenset(),
        only_binary=asked.files.only_binary if asked.files else frozenset(),
    )
    require_hashes = options.require_hashes or asked.require_hashes
    target = interpreter.target()

    def resolved(finder: PackageFinder, asked: Asked, ahead: PickFiles | None = None) -> Resolution:
        if options.no_deps or exact:
            finder = _NoDeps(finder, ahead)
        elif ahead is not None:
            finder = _Ahead(finder, ahead)
        return resolve(asked.requirements, finder, target, resolve_options, reporter)

    def planned(resolution: Resolution, asked: Asked) -> Plan:
        if require_hashes:
            _check_hashes(resolution, asked)
        wanted = wanted_from(resolution, asked.requirements)
        check_wheels_fit(wanted, interpreter)
        if require_hashes:
            wanted = with_allowed_hashes(wanted, _hashes_by_name(asked))
        # A local directory may have changed since it was installed: pip rebuilds it
        # every time, and so does cloche.
        rebuilt = frozenset(w.name for w in wanted if _local_directory(w.direct_url))
        reinstall = options.reinstall or rebuilt
        return plan_for(layout, wanted, exact=exact, reinstall=reinstall, protected=KEPT_BY_SYNC)

    stored = stored_finder(settings, asked, interpreter, upgrade=options.upgrade)
    if stored is not None:
        try:
            # Without dependencies to read, pins need no resolver: each is its best wheel.
            if exact or options.no_deps:
                resolution = pinned_resolution(asked, stored, target, resolve_options)
            else:
                resolution = resolved(stored, asked)
            plan = planned(resolution, asked)
            wheels = [stored.wheel(w.source.file) for w in plan.install if w.source.file]
        except (NotStored, ClocheError) as exc:
            # The index has the full answer (or the error to show).
            reporter.debug(f"asking the index: {exc}")
        else:
            reporter.debug("every pin answered from the cache, no index request")
            if not options.dry_run and not plan.is_noop:
                apply_stored(layout, plan, wheels, settings, reporter)
            return plan

    from cloche.ops.sources import open_sources

    src_dir = options.src or Path(interpreter.prefix if interpreter.is_venv else ".") / "src"
    with open_sources(settings, interpreter, reporter, src_dir=src_dir.absolute()) as sources:
        if asked.unnamed:
            asked = asked.named([sources.project_name(u.url) for u in asked.unnamed])
        with ExitStack() as stack:
            ahead = None
            if not options.dry_run:
                # Each exact pin's wheel starts as soon as its page is in (ops/ahead.py).
                threads = min(settings.concurrency, (os.cpu_count() or 1) + 1)
                start = stack.enter_context(sources.fetching_ahead(threads))
                installed = {} if options.reinstall else {p.name: p.version for p in present}
                ahead = PinnedWheelsAhead(start, asked, target, resolve_options, installed)
            plan = planned(resolved(sources, asked, ahead or None), asked)
            if not options.dry_run and not plan.is_noop:
                plan = apply_plan(layout, plan, sources, settings, reporter)
    return plan


def _local_directory(url: str | None) -> bool:
    if not url or not url.startswith("file:"):
        return False
    from cloche.adapters.index.download import local_path

    return local_path(url).is_dir()


def _hashes_by_name(asked: Asked) -> dict[NormalizedName, set[str]]:
    out: dict[NormalizedName, set[str]] = {}
    for req in asked.requirements:
        out.setdefault(req.name, set()).update(d for a, d in req.hashes if a == "sha256")
    return out


def _check_hashes(resolution: Resolution, asked: Asked) -> None:
    """--require-hashes: every package pinned with == and a sha256 the chosen file has."""
    allowed = _hashes_by_name(asked)
    pinned = {r.name for r in asked.requirements if _is_pinned(r.requirement)}
    for pkg in resolution.packages:
        if pkg.name not in allowed or not allowed[pkg.name]:
            raise HashMismatchError(
                f"--require-hashes: {pkg.name}=={pkg.version} has no --hash in the requirements "
                "(every package, dependencies too, needs one; "
                "'cloche pip compile --generate-hashes' writes them)"
            )
        if pkg.name not in pinned and pkg.direct_url is None:
            raise HashMismatchError(
                f"--require-hashes: {pkg.name} must be pinned with == (got a range)"
            )
        chosen = pkg.chosen
        if chosen is not None and chosen.sha256 and chosen.sha256 not in allowed[pkg.name]:
            raise HashMismatchError(
                f"hash mismatch for {chosen.filename}: the index says sha256:{chosen.sha256}, "
                f"which is not among the --hash values for {pkg.name}"
            )


def _is_pinned(req: Requirement) -> bool:
    specs = list(req.specifier)
    return len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version


def uninstall(
    interpreter: Interpreter, names: Sequence[str], reporter: Reporter | None = None
) -> tuple[list[str], list[str]]:
    """Remove the named distributions.

    Returns the removed ones as 'name==version' and the names that were not installed.
    """
    from cloche.adapters.install import InstalledDist, env_lock, install

    layout = layout_for(interpreter)

    def split() -> tuple[list[str], list[str], list[InstalledDist]]:
        present = {p.name: p for p in present_in(layout)}
        removed, missing, dists = [], [], []
        for name in names:
            found = present.get(normalize(name))
            if found is None:
                missing.append(name)
            else:
                dists.append(found.dist)
                removed.append(f"{found.name}=={found.version}")
        return removed, missing, dists

    removed, missing, dists = split()
    if dists:
        notice = waiting_notice(layout, reporter or NullReporter())
        with env_lock(layout, notice):  # read again: another cloche may have changed the env
            removed, missing, dists = split()
            if dists:
                install(layout, [], dists, reporter=reporter)
    return removed, missing
