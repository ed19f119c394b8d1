"""``cloche lock``: resolve the project once per target and merge the results into a lock."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.pylock import Pylock
from packaging.version import Version

from cloche.config import Settings
from cloche.core.lock.inputs import is_fresh
from cloche.core.lock.model import build_lock
from cloche.core.lock.toml_reader import parse_lock
from cloche.core.lock.toml_writer import dump_lock
from cloche.core.models import (
    Interpreter,
    NormalizedName,
    Resolution,
    Target,
    normalize,
)
from cloche.core.project.roots import requirements_for
from cloche.core.project.spec import LOCKFILE, ProjectSpec
from cloche.core.report import Reporter
from cloche.errors import ClocheError, LockStaleError, ProjectError, UsageError
from cloche.ops.project.environment import lock_python, needs_interpreter
from cloche.ops.project_sources import with_backend_dependencies

if TYPE_CHECKING:
    from cloche.ops.services import Services

STALE_MESSAGE = f"{LOCKFILE} is out of date with pyproject.toml; run 'cloche lock'"


def stale_message(spec: ProjectSpec) -> str:
    """STALE_MESSAGE for the lock ``spec`` names (``pylock.cu128.toml`` is re-made by
    ``cloche lock --lock cu128``)."""
    if spec.lock_name is None:
        return STALE_MESSAGE
    return (
        f"{spec.lock_file} is out of date with pyproject.toml; "
        f"run 'cloche lock --lock {spec.lock_name}'"
    )


@dataclass(frozen=True, slots=True)
class LockRequest:
    """How a lock may move away from the previous one."""

    upgrade: bool = False
    """Ignore every version the previous lock chose."""
    upgrade_packages: frozenset[NormalizedName] = frozenset()
    """Ignore the previous lock's versions of these packages only."""


@dataclass(frozen=True, slots=True)
class LockResult:
    """A new lock, its text, and the resolutions it was made from."""

    lock: Pylock
    text: str
    resolutions: tuple[Resolution, ...]
    archive_hashes: Mapping[str, str] = field(default_factory=dict)
    """sha256 of each direct archive URL that gave none, as hashed for this lock."""
    targets: tuple[str, ...] = ()
    """The project's targets the lock covers (``covered_targets``)."""

    def archive_sha256(self, url: str) -> str:
        return self.archive_hashes[url]


def read_lock(path: Path, cache_dir: Path | None = None) -> Pylock | None:
    """The lock at ``path``; None when there is none. A broken lock is an error.

    With ``cache_dir``, a lock parsed before (the same bytes) comes from the cache.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read: {exc}") from None

    def parse(data: bytes) -> Pylock:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProjectError(f"{path}: cannot read: {exc}") from None
        return parse_lock(text, source=path.name)

    if cache_dir is None:
        return parse(data)
    from cloche.adapters.lock_cache import ParsedLocks

    return ParsedLocks(cache_dir).load(data, parse)


def previous_lock(path: Path, reporter: Reporter) -> Pylock | None:
    """The lock about to be replaced, only for its versions: a broken one is ignored."""
    try:
        return read_lock(path)
    except ProjectError as exc:
        reporter.warning(f"ignoring the current {path.name}: {exc.message}")
        return None


def check_fresh(spec: ProjectSpec, settings: Settings) -> Pylock:
    """The project's lock, or LockStaleError when it is missing or out of date (no network)."""
    lock = read_lock(spec.lock_path)
    if lock is None or not is_fresh(lock, spec, settings.index_urls):
        raise LockStaleError(stale_message(spec))
    return lock


def locked_versions(lock: Pylock | None) -> dict[NormalizedName, list[Version]]:
    """Every version of every package in ``lock`` (a name may have one per target)."""
    out: dict[NormalizedName, list[Version]] = {}
    for package in lock.packages if lock is not None else ():
        if package.version is not None:
            out.setdefault(normalize(package.name), []).append(package.version)
    return {name: sorted(set(versions)) for name, versions in out.items()}


def lock_project(
    services: Services,
    spec: ProjectSpec,
    interpreter: Interpreter | Callable[[], Interpreter],
    previous: Pylock | None,
    request: LockRequest = LockRequest(),
) -> LockResult:
    """Resolve ``spec`` (every group and extra) for each of its targets; nothing is written.

    Versions in ``previous`` are kept while they remain allowed, unless upgraded.
    """
    from cloche.core.resolver import ResolveOptions, resolve
    from cloche.core.targets import target_for

    settings, reporter = services.settings, services.reporter
    known = locked_versions(previous)
    unknown = sorted(request.upgrade_packages - set(known))
    if unknown and previous is not None:
        raise UsageError(f"cannot upgrade {unknown[0]!r}: it is not in {spec.lock_file}")
    if isinstance(interpreter, Interpreter) or needs_interpreter(spec):
        interpreter = interpreter if isinstance(interpreter, Interpreter) else interpreter()
        python = lock_python(spec, interpreter)
    else:
        python = lock_python(spec)
    every = [target_for(python, name) for name in spec.targets]
    targets = covered_targets(every, spec, services)
    names = tuple(
        name for name, target in zip(spec.targets, every, strict=True) if target in targets
    )
    options = ResolveOptions(
        preferences=tuple((name, versions[-1]) for name, versions in sorted(known.items())),
        upgrade=request.upgrade,
        upgrade_packages=request.upgrade_packages,
        prerelease=settings.prerelease,
        prerelease_mode=settings.prerelease_mode,
    )
    resolutions: list[Resolution] = []
    hashes: dict[str, str] = {}
    # One set of sources for every target: each index page is fetched once.
    sources = services.sources(interpreter)
    spec = with_backend_dependencies(spec, sources.trees.url_metadata, reporter)
    requirements = requirements_for(spec, all_groups=True, all_extras=True)
    for target in targets:
        try:
            resolutions.append(resolve(requirements, sources.finder, target, options, reporter))
        except ClocheError as exc:
            if not resolutions:  # the first target: most likely every target fails
                raise
            raise _for_target(exc, target.platform) from None

    def archive_sha256(url: str) -> str:  # kept for a second build_lock (project_edit)
        hashes[url] = sha = sources.trees.archive_sha256(url)  # each URL is read once
        return sha

    lock = build_lock(spec, resolutions, settings.index_urls, archive_sha256)
    return LockResult(lock, dump_lock(lock), tuple(resolutions), hashes, names)


def covered_targets(targets: list[Target], spec: ProjectSpec, services: Services) -> list[Target]:
    """The targets the build the torch family is routed to exists for: a CUDA build has
    no macOS wheels, so its lock covers the rest (said in one line). The lock's inputs
    hash keeps the project's own targets: narrowing follows from the build alone."""
    where = services.settings.build_platforms
    if where is None:
        return targets
    kept = [t for t in targets if not t.platform or t.platform in where.platforms]
    left = list(dict.fromkeys(t.platform for t in targets if t not in kept))
    if not left:
        return targets
    build, cpu = f"{where.build} builds", "'cloche lock --accelerator cpu'"
    gone = _listing(label.replace("macos", "macOS") for label in left)
    if not kept:
        raise UsageError(
            f"{spec.lock_file} would cover none of the project's targets: {build} of torch "
            f"do not exist for {gone} (only for {_listing(where.platforms)})",
            hint=f"lock the CPU build for them: {cpu}",
        )
    covered = _listing(dict.fromkeys(t.platform for t in kept))
    services.reporter.info(
        f"{spec.lock_file} covers {covered}: {build} do not exist for {gone}; "
        f"use pylock.cpu.toml there ({cpu})"
    )
    return kept


def _listing(names: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(names)
    return " and ".join(items) if len(items) < 3 else f"{', '.join(items[:-1])} and {items[-1]}"


def _for_target(exc: ClocheError, platform: str) -> ClocheError:
    """The same error, its first line saying which target failed."""
    first, newline, rest = exc.message.partition("\n")
    return type(exc)(f"{first} (locking for {platform}){newline}{rest}", hint=exc.hint)


def version_changes(
    before: Pylock | None, after: Pylock
) -> list[tuple[str, Sequence[Version], Sequence[Version]]]:
    """(name, old versions, new versions) for every package whose versions changed."""
    old, new = locked_versions(before), locked_versions(after)
    changes: list[tuple[str, Sequence[Version], Sequence[Version]]] = []
    for name in sorted(set(old) | set(new)):
        if old.get(name, []) != new.get(name, []):
            changes.append((str(name), old.get(name, []), new.get(name, [])))
    return changes
