"""Make an environment hold a set of distributions: plan, prepare wheels, link.

Reads like the recipe it is: plan against what is installed, fetch/build/unpack
what is missing into the store (in parallel), then one install transaction.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cloche.adapters.install import (
    EnvLayout,
    InstalledDist,
    InstallRequest,
    env_lock,
    install,
    installed_distributions,
)
from cloche.config import Settings
from cloche.core.direct_url import direct_url_json, recorded_url
from cloche.core.models import (
    DistFile,
    Interpreter,
    NormalizedName,
    Resolution,
    UserRequirement,
    normalize,
    wheel_fits,
)
from cloche.core.plan import InstallPlan, Present, Wanted, plan_install, removals_now
from cloche.core.report import NullReporter, Reporter
from cloche.errors import HashMismatchError, InstallError

if TYPE_CHECKING:
    from cloche.adapters.store import Store, UnpackedWheel
    from cloche.ops.sources import Sources


@dataclass(frozen=True, slots=True)
class Artifact:
    """Where a wanted distribution comes from: an index file, or a direct URL."""

    file: DistFile | None = None
    url: str | None = None
    editable: bool = False
    allowed_sha256: frozenset[str] = frozenset()
    """--require-hashes: the archive's sha256 must be one of these (empty: no check)."""


Plan = InstallPlan[Artifact, InstalledDist]


def layout_for(interpreter: Interpreter) -> EnvLayout:
    scheme = interpreter.scheme
    return EnvLayout(
        purelib=Path(scheme["purelib"]),
        platlib=Path(scheme["platlib"]),
        scripts=Path(scheme["scripts"]),
        # Headers of installed distributions go inside the env, as pip puts them.
        include=Path(scheme["data"])
        / "include"
        / "site"
        / f"python{interpreter.version.major}.{interpreter.version.minor}",
        data=Path(scheme["data"]),
        python_executable=Path(interpreter.executable),
        python_version=interpreter.version,
    )


def target_layout(interpreter: Interpreter, target: Path, lock_dir: Path) -> EnvLayout:
    """``pip install --target DIR``: packages straight in DIR, scripts in DIR/bin.

    The install lock lives in ``lock_dir`` (the cache's), so DIR gets nothing but packages.
    """
    target = target.absolute()
    return EnvLayout(
        purelib=target,
        platlib=target,
        scripts=target / "bin",
        include=target / "include",
        data=target,
        python_executable=Path(interpreter.executable),
        python_version=interpreter.version,
        lock_file=_directory_lock(lock_dir, target),
        work_dir=target,
    )


def prefix_layout(interpreter: Interpreter, prefix: Path, lock_dir: Path) -> EnvLayout:
    """``pip install --prefix DIR``: the interpreter's own layout, moved under DIR
    (DIR/lib/pythonX.Y/site-packages, DIR/bin, ...); the lock as for ``target_layout``."""
    own = layout_for(interpreter)
    home = own.data
    prefix = prefix.absolute()

    def moved(path: Path) -> Path:
        try:
            return prefix / path.relative_to(home)
        except ValueError:  # a scheme path outside the prefix (unusual distro layouts)
            return prefix / path.name

    return replace(
        own,
        purelib=moved(own.purelib),
        platlib=moved(own.platlib),
        scripts=moved(own.scripts),
        include=moved(own.include),
        data=prefix,
        lock_file=_directory_lock(lock_dir, prefix),
    )


def _directory_lock(lock_dir: Path, directory: Path) -> Path:
    key = hashlib.sha256(str(directory).encode()).hexdigest()[:16]
    return lock_dir / f"directory-{key}.lock"


def present_in(layout: EnvLayout) -> list[Present[InstalledDist]]:
    out = []
    for dist in installed_distributions(layout):
        url, editable = recorded_url(dist.direct_url)
        out.append(
            Present(
                name=normalize(dist.name),
                version=dist.version,
                dist=dist,
                direct_url=url,
                editable=editable,
            )
        )
    return out


def apply_plan(
    layout: EnvLayout,
    plan: Plan,
    sources: Sources,
    settings: Settings,
    reporter: Reporter | None = None,
) -> Plan:
    """Prepare every wheel the plan installs, then change the env in one transaction.

    Returns the plan as done: a directory or VCS source's version, unknown until it
    was built, is the built wheel's.
    """
    reporter = reporter or NullReporter()
    requests = prepare(plan.install, sources, settings, reporter)
    with env_lock(layout, waiting_notice(layout, reporter)):
        _install_prepared(layout, plan, requests, settings, reporter)
    done = tuple(
        replace(want, version=request.wheel.version)
        for want, request in zip(plan.install, requests, strict=True)
    )
    return replace(plan, install=done)


def _stored(
    want: Wanted[Artifact], lookup: Callable[[DistFile], UnpackedWheel | None]
) -> UnpackedWheel | None:
    """The unpacked wheel of an index file the store already holds (by its sha256)."""
    artifact = want.source
    if artifact.file is None or artifact.url is not None or artifact.allowed_sha256:
        return None
    return lookup(artifact.file)


def check_wheels_fit(wanted: Sequence[Wanted[Artifact]], interpreter: Interpreter) -> None:
    """A wheel given by URL or path (or locked so) must suit the interpreter, as index
    wheels do; InstallError names the first that does not."""
    for want in wanted:
        filename = _wheel_filename(want.source)
        if filename is not None and not wheel_fits(filename, interpreter.tags):
            markers = dict(interpreter.marker_env)
            where = f"Python {interpreter.version} on {markers.get('platform_machine', '?')} "
            raise InstallError(
                f"{filename} is not a supported wheel for this environment "
                f"({where}{markers.get('sys_platform', '?')})",
                hint="use a wheel built for this Python and platform, or its sdist",
            )


def _wheel_filename(source: Artifact) -> str | None:
    if source.file is not None:
        return source.file.filename if source.file.is_wheel else None
    if source.url is None or source.editable:
        return None
    from cloche.adapters.index.download import filename_of

    last = filename_of(source.url)
    return last if last.endswith(".whl") else None


def stored_wheels(plan: Plan, store: Store) -> list[UnpackedWheel] | None:
    """Every wheel ``plan`` installs, when the store holds each one unpacked; else None."""
    wheels = []
    for want in plan.install:
        wheel = _stored(want, store.unpacked_dist)
        if wheel is None:
            return None
        wheels.append(wheel)
    return wheels


def apply_stored(
    layout: EnvLayout,
    plan: Plan,
    wheels: Sequence[UnpackedWheel],
    settings: Settings,
    reporter: Reporter | None = None,
) -> None:
    """Change the env in one transaction; ``wheels[i]`` (from the store) installs
    ``plan.install[i]``."""
    requests = [
        InstallRequest(wheel=wheel, requested=want.requested)
        for want, wheel in zip(plan.install, wheels, strict=True)
    ]
    reporter = reporter or NullReporter()
    with env_lock(layout, waiting_notice(layout, reporter)):
        _install_prepared(layout, plan, requests, settings, reporter)


def waiting_notice(layout: EnvLayout, reporter: Reporter) -> Callable[[], None]:
    """What ``env_lock`` calls when another process holds the env: say so, once."""

    def say() -> None:
        reporter.info(f"Waiting for another cloche process to finish with {layout.data}")

    return say


def _install_prepared(
    layout: EnvLayout,
    plan: Plan,
    requests: list[InstallRequest],
    settings: Settings,
    reporter: Reporter,
) -> None:
    # The caller holds the env lock; what is installed is read again under it.
    removals = removals_now(plan, present_in(layout))
    install(
        layout,
        requests,
        [p.dist for p in removals],
        link_mode=settings.link_mode,
        compile_bytecode=settings.compile_bytecode,
        reporter=reporter,
    )


def prepare(
    wanted: Sequence[Wanted[Artifact]],
    sources: Sources,
    settings: Settings,
    reporter: Reporter,
) -> list[InstallRequest]:
    """Download, build and unpack what the plan needs, in parallel."""
    if not wanted:
        return []
    task = reporter.started("Preparing packages", total=len(wanted))

    def stored(want: Wanted[Artifact]) -> InstallRequest | None:
        wheel = _stored(want, sources.stored_wheel)
        return None if wheel is None else InstallRequest(wheel=wheel, requested=want.requested)

    def one(want: Wanted[Artifact]) -> InstallRequest:
        artifact = want.source
        if artifact.allowed_sha256 and artifact.file is not None:
            sha = sources.verified_sha256(artifact.file)
            if sha not in artifact.allowed_sha256:
                raise HashMismatchError(
                    f"hash mismatch for {artifact.file.filename}: got sha256:{sha}, "
                    f"expected one of the --hash values for {want.name}"
                )
        if artifact.file is not None:
            wheel = sources.wheel(artifact.file)
            direct = None
            if artifact.url is not None:
                direct = direct_url_json(
                    artifact.url, sha256=wheel.sha256 if artifact.file.is_wheel else None
                )
        else:
            assert artifact.url is not None
            wheel = sources.wheel_for_url(artifact.url, editable=artifact.editable)
            url = artifact.url
            if artifact.editable and url.startswith("git+"):
                url = sources.editable_tree(url).as_uri()  # what runs: the kept checkout
            commit = sources.vcs_commit(url)
            direct = direct_url_json(url, editable=artifact.editable, commit=commit)
        reporter.advanced(task)
        return InstallRequest(wheel=wheel, requested=want.requested, direct_url=direct)

    try:
        # Wheels already in the store take a manifest read each: no threads for those.
        done = {i: request for i, w in enumerate(wanted) if (request := stored(w)) is not None}
        for _ in done:
            reporter.advanced(task)
        # Biggest first: the largest wheel's download and unpack is the critical path.
        order = sorted(
            (i for i in range(len(wanted)) if i not in done), key=lambda i: -_size(wanted[i])
        )
        # Downloads are quick and unpacking is CPU work: beyond about two per core, more
        # threads only contend for the GIL (measured on 2 cores: 4 beat 16 by ~10%).
        helpers = _unpack_helpers([wanted[i] for i in order])
        workers = min(
            settings.concurrency,
            # With helpers, threads download and wait for them: one download ahead keeps
            # them fed; more threads only fight over the GIL, 16 KB (one TLS record) at a
            # time (measured on 2 cores: helpers + 1 beat helpers + 4 by 8%).
            helpers + 1 if helpers else max(4, 2 * (os.cpu_count() or 1)),
            len(order),
        )
        if helpers:
            reporter.debug(f"unpacking wheels in {helpers} helper processes")
        if order:
            with (
                sources.store.unpacking_in_processes(helpers) if helpers else nullcontext(),
                ThreadPoolExecutor(max_workers=workers) as pool,
            ):
                done.update(zip(order, pool.map(one, [wanted[i] for i in order]), strict=True))
        return [done[i] for i in range(len(wanted))]
    finally:
        reporter.finished(task)


def _unpack_helpers(todo: Sequence[Wanted[Artifact]]) -> int:
    """How many helper processes should unpack ``todo`` (0: none, unpack in threads)."""
    from cloche.adapters.store.workers import helpers_for

    return helpers_for(len(todo), sum(map(_size, todo)))


def _size(want: Wanted[Artifact]) -> int:
    file = want.source.file
    return (file.size or 0) if file is not None else 0


def plan_for(
    layout: EnvLayout,
    wanted: Sequence[Wanted[Artifact]],
    *,
    exact: bool = False,
    reinstall: bool | frozenset[str] = False,
    protected: frozenset[NormalizedName] = frozenset(),
) -> Plan:
    reinstall_names: bool | frozenset[NormalizedName] = (
        reinstall if isinstance(reinstall, bool) else frozenset(normalize(n) for n in reinstall)
    )
    return plan_install(
        wanted, present_in(layout), exact=exact, reinstall=reinstall_names, protected=protected
    )


def wanted_from(
    resolution: Resolution, requested: Sequence[UserRequirement]
) -> list[Wanted[Artifact]]:
    """The distributions a resolution asks for, marked requested when the user named them."""
    by_name = {r.name: r for r in requested}
    wanted = []
    for pkg in resolution.packages:
        user = by_name.get(pkg.name)
        editable = bool(user and user.editable)
        url = pkg.direct_url
        wanted.append(
            Wanted(
                name=pkg.name,
                version=pkg.version,
                source=Artifact(file=pkg.chosen, url=url, editable=editable),
                direct_url=url,
                editable=editable,
                requested=user is not None,
            )
        )
    return wanted


def with_allowed_hashes(
    wanted: Sequence[Wanted[Artifact]], allowed: Mapping[NormalizedName, set[str]]
) -> list[Wanted[Artifact]]:
    """Attach the user's --hash values so prepare() checks each archive against them."""
    return [
        replace(w, source=replace(w.source, allowed_sha256=frozenset(allowed.get(w.name, ()))))
        for w in wanted
    ]
