"""``cloche sync``: make ``.venv`` hold exactly what pylock.toml selects for this machine.

The recipe: find the lock (re-locking when stale, unless frozen or locked), select
the packages for this interpreter, plan against the env, fetch the locked files by
URL and sha256 (no resolving, no index pages), link, and stamp the env.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.pylock import PackageDirectory, PackageVcs, Pylock
from packaging.version import Version

from cloche.core.lock.inputs import is_fresh
from cloche.core.lock.select import LockedInstall, select
from cloche.core.models import Interpreter, NormalizedName, normalize
from cloche.core.plan import Wanted
from cloche.core.project.spec import ProjectSpec
from cloche.errors import LockStaleError, ProjectError
from cloche.ops import sync_replay
from cloche.ops.apply import PLAN_ATTEMPTS, StalePlan, apply
from cloche.ops.bundle.local import local_copy, local_folders
from cloche.ops.gpu_relevance import torch_label
from cloche.ops.layouts import layout_for
from cloche.ops.lock import LockRequest, lock_project, read_lock, stale_message
from cloche.ops.plan import Artifact, Plan, check_wheels_fit, plan_for, present_in
from cloche.ops.project.environment import ensure_venv, venv_dir
from cloche.ops.stamp import Inputs, Selection, clear_stamp, read_stamp, write_stamp

if TYPE_CHECKING:
    from cloche.adapters.install import EnvLayout
    from cloche.ops.services import Services


class LockMode(Enum):
    AUTO = "auto"
    """Re-lock when the lock is missing or stale."""
    LOCKED = "locked"
    """Fail when the lock is missing or stale (CI)."""
    FROZEN = "frozen"
    """Install the lock as it is, stale or not."""


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a project sync did: its plan, the interpreter, and whether it re-locked."""

    plan: Plan
    interpreter: Interpreter
    relocked: bool
    recipe: dict[str, Any] | None = None
    """How to make this ``.venv`` again without planning (``ops.sync_replay``), when the
    sync made it new from stored wheels; the CLI keeps it with the lines it said."""


def current_lock(
    services: Services,
    spec: ProjectSpec,
    interpreter: Interpreter,
    mode: LockMode,
    inputs: Inputs,
) -> tuple[Pylock, Inputs, bool, bool]:
    """(lock, inputs with the lock's bytes, fresh, re-locked) under ``mode``."""
    settings, reporter = services.settings, services.reporter
    lock = read_lock(spec.lock_path, settings.cache_dir)
    if mode is LockMode.FROZEN:
        if lock is None:
            raise ProjectError(
                f"no {spec.lock_file} in {spec.root}; run {_lock_command(spec)} first"
            )
        return lock, inputs, is_fresh(lock, spec, settings.index_urls), False
    if lock is not None and is_fresh(lock, spec, settings.index_urls):
        return lock, inputs, True, False
    if mode is LockMode.LOCKED:
        raise LockStaleError(stale_message(spec))
    result = lock_project(services, spec, interpreter, lock, LockRequest())
    from cloche.adapters.atomic_file import atomic_write_text

    atomic_write_text(spec.lock_path, result.text)
    reporter.info(f"Locked {len(result.lock.packages)} package(s) in {spec.lock_file}")
    return result.lock, inputs.with_lock(result.text), True, True


def _lock_command(spec: ProjectSpec) -> str:
    if spec.lock_name is None:
        return "'cloche lock'"
    return f"'cloche lock --lock {spec.lock_name}'"


def sync_project(
    services: Services,
    spec: ProjectSpec,
    selection: Selection,
    mode: LockMode = LockMode.AUTO,
    *,
    exact: bool = True,
) -> SyncResult:
    """Lock if needed, then install the lock's selection into ``.venv``: exactly (what
    the lock does not select is removed), or with ``exact=False`` (``cloche run``, as
    ``uv run``) keeping what was installed by hand. A lock this machine cannot run is
    refused before anything is installed."""
    inputs = Inputs.read(spec.root, spec.lock_file)
    sync_replay.remove_partials(spec.root)
    before = None
    fresh_venv = not venv_dir(spec).exists()
    if fresh_venv and exact and spec.lock_name is None and selection == Selection():
        before = sync_replay.machine_state() if sync_replay.SUPPORTED else None
    interpreter = ensure_venv(spec, services.settings, services.reporter)
    lock, inputs, fresh, relocked = current_lock(services, spec, interpreter, mode, inputs)
    if torch_label(lock) is not None:  # a torch build: is it for this machine?
        from cloche.ops.named_locks import check_lock_covers, check_lock_fits

        check_lock_covers(services.settings, lock, spec.lock_file, dict(interpreter.marker_env))
        check_lock_fits(services.settings, lock, spec.lock_file)
    plan = install_lock(services, lock, interpreter, selection, spec, exact=exact)
    scheme = interpreter.scheme
    write_stamp(
        inputs,
        selection,
        fresh=fresh,
        python=interpreter.executable,
        site_dirs=[scheme["purelib"], scheme["platlib"]],
        exact=exact,
    )
    recipe = None
    if before is not None and fresh and not relocked and torch_label(lock) is None:
        recipe = _recipe(services, spec, plan, before)
    return SyncResult(plan=plan, interpreter=interpreter, relocked=relocked, recipe=recipe)


def _recipe(
    services: Services, spec: ProjectSpec, plan: Plan, before: dict[str, Any]
) -> dict[str, Any] | None:
    """How to make the ``.venv`` this sync made again (``ops.sync_replay``), when every
    package in it is an index or lock file's wheel, linked from the store."""
    wheel_dirs = []
    for want in plan.install:
        file = want.source.file
        stored = want.source.stored
        if stored is None and file is not None and not want.editable:
            stored = services.store.unpacked_dist(file)
        if stored is None:
            return None
        wheel_dirs.append(str(stored.path.absolute()))
    stamp = read_stamp(spec.root)
    return None if stamp is None else sync_replay.record(spec.root, wheel_dirs, before, stamp)


def install_lock(
    services: Services,
    lock: Pylock,
    interpreter: Interpreter,
    selection: Selection,
    spec: ProjectSpec,
    *,
    lock_dir: Path | None = None,
    layout: EnvLayout | None = None,
    exact: bool = True,
) -> Plan:
    """Install what ``lock`` selects for ``interpreter``, removing everything else
    (unless not ``exact``).

    ``layout`` replaces the interpreter's own (an env built in one place for another).

    The recipe: select -> plan (which wheels the store holds) -> apply; the index
    client and builder are made only when something must be fetched or built.
    Relative paths in the lock are read from ``lock_dir`` (the project root by default).
    """
    lock_dir = lock_dir or spec.root
    groups = _groups(lock, selection)
    extras = list(lock.extras or ()) if selection.all_extras else list(selection.extras)
    markers = dict(interpreter.marker_env)
    chosen = select(lock, markers, interpreter.tags, groups=groups, extras=extras)
    layout = layout or layout_for(interpreter)
    present: dict[NormalizedName, Version] = {}
    if any(item.version is None for item in chosen):
        present = {p.name: p.version for p in present_in(layout)}
    roots = spec.named
    folders = local_folders(services.settings.find_links)
    wanted = [_wanted(item, lock_dir, present, roots, folders) for item in chosen]
    if spec.buildable and spec.name:
        if spec.version is None and not present:
            present = {p.name: p.version for p in present_in(layout)}
        wanted.append(_project_itself(spec, present))
    check_wheels_fit(wanted, interpreter)
    preparer = lambda: services.sources(interpreter).preparer  # noqa: E731
    for attempt in range(PLAN_ATTEMPTS):
        # Another cloche may be installing this very lock (started at the same time):
        # what it installed meanwhile is planned against, not installed over.
        before = present_in(layout)
        plan = plan_for(layout, wanted, services.store.unpacked_dist, exact=exact, present=before)
        if plan.is_noop:
            return plan
        clear_stamp(spec.root)
        last = attempt == PLAN_ATTEMPTS - 1
        try:
            return apply(
                layout,
                plan,
                preparer,
                services.settings,
                services.reporter,
                planned_against=None if last else before,
            )
        except StalePlan:
            services.reporter.debug("the environment changed while waiting for it: planning again")
    raise AssertionError("unreachable: the last attempt does not check for a stale plan")


def _project_itself(spec: ProjectSpec, present: dict[NormalizedName, Version]) -> Wanted[Artifact]:
    """The project's own package, installed editable (as uv does when it can be built)."""
    assert spec.name is not None
    name = normalize(spec.name)
    url = spec.root.resolve().as_uri()
    # A dynamic version: what is installed stands while the source is the same.
    version = Version(spec.version) if spec.version else present.get(name, Version("0"))
    return Wanted(
        name=name,
        version=version,
        source=Artifact(url=url, editable=True),
        direct_url=url,
        editable=True,
        requested=True,
    )


def _groups(lock: Pylock, selection: Selection) -> list[str] | None:
    if selection.all_groups:
        return list(lock.dependency_groups or ())
    if not selection.groups and not selection.no_default_groups:
        return None  # the lock's default-groups
    base = [] if selection.no_default_groups else list(lock.default_groups or ())
    return [*base, *selection.groups]


def _wanted(
    item: LockedInstall,
    lock_dir: Path,
    present: dict[NormalizedName, Version],
    roots: frozenset[NormalizedName],
    folders: Sequence[Path] = (),
) -> Wanted[Artifact]:
    requested = item.name in roots
    file = item.dist_file(lock_dir)
    if file is not None:
        file = local_copy(file, folders)
        return Wanted(
            name=item.name,
            version=file.version,
            source=Artifact(file=file),
            requested=requested,
        )
    url, editable = _direct_url(item, lock_dir)
    return Wanted(
        name=item.name,
        # A directory or VCS source's version is not in the lock: taking the installed
        # one keeps an unchanged source; anything else is (re)installed.
        version=item.version or present.get(item.name, Version("0")),
        source=Artifact(url=url, editable=editable),
        direct_url=url,
        editable=editable,
        requested=requested,
    )


def _direct_url(item: LockedInstall, lock_dir: Path) -> tuple[str, bool]:
    source = item.source
    if isinstance(source, PackageVcs):
        url = f"{source.type}+{source.url}@{source.commit_id}"
        if source.subdirectory:
            url += f"#subdirectory={source.subdirectory}"
        return url, False
    location = item.location(lock_dir)
    url = location if "://" in location else Path(location).resolve().as_uri()
    if isinstance(source, PackageDirectory):
        if source.subdirectory:
            url += f"#subdirectory={source.subdirectory}"
        return url, item.editable
    sha = dict(item.hashes).get("sha256")
    return (f"{url}#sha256={sha}" if sha else url), False
