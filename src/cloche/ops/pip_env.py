"""The pip-compatible use cases: install, sync, uninstall into one environment."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import Requirement

from cloche.adapters.install import EnvLayout, InstalledDist
from cloche.config import Settings
from cloche.core.finder import PickFiles
from cloche.core.models import DistFile, Interpreter, NormalizedName, Resolution, normalize
from cloche.core.plan import Present
from cloche.core.report import NullReporter, Reporter
from cloche.core.resolver import ResolveOptions, resolve
from cloche.errors import HashMismatchError, RequirementError
from cloche.ops.apply import PLAN_ATTEMPTS, StalePlan, apply, waiting_notice
from cloche.ops.finder.stored import StoredAnswer, stored_resolution
from cloche.ops.finder.views import install_view
from cloche.ops.layouts import layout_for, prefix_layout, target_layout
from cloche.ops.plan import (
    Plan,
    check_wheels_fit,
    plan_for,
    present_in,
    wanted_from,
    with_allowed_hashes,
)
from cloche.ops.prepare.pinned_ahead import PinnedWheelsAhead
from cloche.ops.requirements import Asked, settings_with_file_options

if TYPE_CHECKING:
    from cloche.adapters.store import Store, UnpackedWheel
    from cloche.ops.prepare.preparer import Preparer
    from cloche.ops.services import Services

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


def install_requirements(
    services: Services,
    interpreter: Interpreter,
    asked: Asked,
    options: InstallOptions,
    *,
    exact: bool = False,
) -> Plan:
    """Resolve what was asked for this environment and install it (``pip install``).

    With ``exact`` (``pip sync``) everything not asked for is removed and nothing is
    resolved beyond the listed pins. The recipe: gather -> layout -> plan (from the
    store when it holds every pin, else from the index) -> apply.
    """
    if not asked.requirements and not asked.unnamed and not exact:
        raise RequirementError("nothing to install: name packages, or use -r requirements.txt")
    services = services.using(
        settings_with_file_options(services.settings, asked.files, options.explicit_flags)
    )
    layout = _layout(interpreter, options, services.settings)
    for attempt in range(PLAN_ATTEMPTS):
        present = present_in(layout)
        request = _Request(interpreter, asked, options, services.settings, exact, present)
        last = attempt == PLAN_ATTEMPTS - 1
        try:
            plan = _install_once(
                services, request, layout, planned_against=None if last else present
            )
        except StalePlan:
            services.reporter.debug("the environment changed while waiting for it: planning again")
            continue
        if not exact and not options.dry_run and not plan.is_noop:
            _warn_broken(services.reporter, layout, interpreter, plan)
        return plan
    raise AssertionError("unreachable: the last attempt does not check for a stale plan")


def _warn_broken(
    reporter: Reporter, layout: EnvLayout, interpreter: Interpreter, plan: Plan
) -> None:
    """What pip says after an install: the requirements of installed packages that
    the changed packages no longer meet."""
    from cloche.ops.inspect import broken_by

    changed = {w.name for w in plan.install} | {p.name for p in plan.remove}
    for line in broken_by(layout, dict(interpreter.marker_env), changed):
        reporter.warning(f"{line} (the install changed that; 'cloche pip check' lists all)")


def _install_once(
    services: Services,
    request: _Request,
    layout: EnvLayout,
    *,
    planned_against: Sequence[Present[InstalledDist]] | None,
) -> Plan:
    """Plan from the store, else resolve with the index, then apply (one attempt)."""
    interpreter, asked = request.interpreter, request.asked
    answer = request.from_store(services.store)
    if answer is not None:
        services.reporter.debug("every pin answered from the cache, no index request")
        return _carry_out(
            services, request, layout, answer.resolution, None, answer.files.wheel, planned_against
        )
    sources = services.sources(interpreter, src_dir=request.src_dir)
    if asked.unnamed:
        from cloche.ops.prepare.naming import ReferenceNames

        namer = ReferenceNames(
            services.settings.cache_dir, lambda: sources.trees, services.reporter
        )
        request = request.named(namer.names(asked.unnamed))
    with _pins_ahead(sources.preparer, request) as ahead:
        finder = install_view(sources.finder, no_deps=request.no_deps, ahead=ahead)
        resolution = resolve(
            request.asked.requirements,
            finder,
            interpreter.target(),
            request.resolve_options,
            services.reporter,
        )
        stored = services.store.unpacked_dist
        return _carry_out(
            services, request, layout, resolution, sources.preparer, stored, planned_against
        )


def _carry_out(
    services: Services,
    request: _Request,
    layout: EnvLayout,
    resolution: Resolution,
    preparer: Preparer | None,
    stored: Callable[[DistFile], UnpackedWheel | None],
    planned_against: Sequence[Present[InstalledDist]] | None,
) -> Plan:
    """Plan ``resolution`` against the env and apply it (unless a dry run or a no-op)."""
    plan = request.plan(resolution, layout, stored)
    if request.options.dry_run or plan.is_noop:
        return plan
    make = (lambda: preparer) if preparer is not None else None
    return apply(layout, plan, make, services.settings, services.reporter, planned_against)


@contextmanager
def _pins_ahead(preparer: Preparer, request: _Request) -> Iterator[PickFiles | None]:
    """While resolving, each exact pin's wheel starts as soon as its page is in
    (see ``prepare/ahead.py``); nothing starts for a dry run."""
    if request.options.dry_run:
        yield None
        return
    threads = min(request.settings.concurrency, (os.cpu_count() or 1) + 1)
    with preparer.fetching_ahead(threads) as start:
        installed = {p.name: p.version for p in request.present}
        ahead = PinnedWheelsAhead(
            start,
            request.asked,
            request.interpreter.target(),
            request.resolve_options,
            {} if request.options.reinstall else installed,
        )
        yield ahead or None


def _layout(interpreter: Interpreter, options: InstallOptions, settings: Settings) -> EnvLayout:
    if options.target is not None:
        return target_layout(interpreter, options.target, settings.cache_dir / "locks")
    if options.prefix is not None:
        return prefix_layout(interpreter, options.prefix, settings.cache_dir / "locks")
    return layout_for(interpreter)


@dataclass(frozen=True, slots=True)
class _Request:
    """One install's inputs, and how a resolution of them becomes a plan."""

    interpreter: Interpreter
    asked: Asked
    options: InstallOptions
    settings: Settings
    exact: bool
    present: Sequence[Present[InstalledDist]]

    @property
    def no_deps(self) -> bool:
        return self.options.no_deps or self.exact

    @property
    def resolve_options(self) -> ResolveOptions:
        asked, options = self.asked, self.options
        return ResolveOptions(
            constraints=asked.constraints,
            preferences=tuple((p.name, p.version) for p in self.present),
            upgrade=options.upgrade and options.eager,
            upgrade_packages=(
                frozenset(r.name for r in asked.requirements) if options.upgrade else frozenset()
            ),
            prerelease=self.settings.prerelease,
            prerelease_mode=self.settings.prerelease_mode,
            no_binary=asked.files.no_binary if asked.files else frozenset(),
            only_binary=asked.files.only_binary if asked.files else frozenset(),
            hashes=tuple((n, frozenset(v)) for n, v in _hashes_by_name(asked).items() if v)
            if self.require_hashes
            else (),
        )

    def from_store(self, store: Store) -> StoredAnswer | None:
        """The resolution the store alone gives (see ``stored_resolution``), or None."""
        if self.options.upgrade:
            return None
        answer = stored_resolution(
            store,
            self.settings,
            self.asked,
            self.interpreter,
            self.resolve_options,
            read_dependencies=not self.no_deps,
        )
        if answer is None or not self.require_hashes:
            return answer
        allowed = _hashes_by_name(self.asked)
        fits = all(
            p.chosen is not None and p.chosen.sha256 in allowed.get(p.name, ())
            for p in answer.resolution.packages
        )
        return answer if fits else None  # the index path checks, and explains

    @property
    def require_hashes(self) -> bool:
        return self.options.require_hashes or self.asked.require_hashes

    @property
    def src_dir(self) -> Path:
        """Where editable VCS checkouts are kept: ``--src``, else the env's ``src``."""
        interpreter = self.interpreter
        base = Path(interpreter.prefix if interpreter.is_venv else ".")
        return (self.options.src or base / "src").absolute()

    def named(self, names: Sequence[str]) -> _Request:
        return replace(self, asked=self.asked.named(names))

    def plan(
        self,
        resolution: Resolution,
        layout: EnvLayout,
        stored: Callable[[DistFile], UnpackedWheel | None],
    ) -> Plan:
        require_hashes = self.require_hashes
        if require_hashes:
            _check_hashes(resolution, self.asked)
        wanted = wanted_from(resolution, self.asked.requirements)
        check_wheels_fit(wanted, self.interpreter)
        if require_hashes:
            wanted = with_allowed_hashes(wanted, _hashes_by_name(self.asked))
        # A local directory may have changed since it was installed: pip rebuilds it
        # every time, and so does cloche.
        rebuilt = frozenset(w.name for w in wanted if _local_directory(w.direct_url))
        reinstall = self.options.reinstall or rebuilt
        return plan_for(
            layout, wanted, stored, exact=self.exact, reinstall=reinstall, protected=KEPT_BY_SYNC
        )


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
    from cloche.adapters.install import env_lock, install

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
