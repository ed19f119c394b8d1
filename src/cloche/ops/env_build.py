"""``env create`` and ``env clone``: build beside the name, then one rename."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from cloche.errors import ProjectError, UsageError
from cloche.ops.env_clone import CloneCounts, clone_tree, rename_prompt, rewrite_in_place
from cloche.ops.named_env import (
    ENV_RECORD,
    EnvRecord,
    check_name,
    commit_env,
    env_path,
    envs_root,
    pyvenv_cfg,
    read_record,
    refuse_existing,
    staged_env,
    write_record,
)

if TYPE_CHECKING:
    # Only for types: `env clone` must not pay for the installer's imports.
    from cloche.config import Settings
    from cloche.core.models import Interpreter
    from cloche.ops.services import Services


@dataclass(frozen=True, slots=True)
class CreateRequest:
    """What ``cloche env create`` was asked for."""

    name: str
    python: str | None = None
    packages: tuple[str, ...] = ()
    requirement_files: tuple[Path, ...] = ()
    lock: Path | None = None
    force: bool = False
    accelerator: str | None = None
    """``auto``, ``cpu``, ``cu128``...: the torch family from that build's index, as
    ``cloche pip install --accelerator`` chooses it."""


@dataclass(frozen=True, slots=True)
class Created:
    """A new environment: where, its Python, how many packages went in."""

    path: Path
    python_version: str
    installed: int


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def create_env(request: CreateRequest, services: Services) -> Created:
    """Create the named env with ``request``'s Python and packages, all or nothing."""
    from cloche.ops.venv import make_venv

    settings, reporter = services.settings, services.reporter
    name = check_name(request.name)
    if request.lock is not None and (request.packages or request.requirement_files):
        raise ProjectError("--lock installs exactly what the lock lists; give it alone")
    if request.lock is not None and request.accelerator is not None:
        raise UsageError(
            "--lock installs the builds the lock lists; --accelerator chooses builds for packages",
            hint="make a lock for that build with 'cloche lock --accelerator NAME', "
            "or name the packages instead of --lock",
        )
    if request.accelerator is not None:
        _check_accelerator(settings, request.accelerator)
    root = envs_root()
    refuse_existing(name, root, request.force)
    final = root / name
    with staged_env(name, root) as staged:
        env = make_venv(staged, settings, python=request.python, prompt=name, reporter=reporter)
        installed, accelerator = _install(services, env, staged, request)
        record = EnvRecord(
            name=name,
            python_version=str(env.version),
            base_executable=_base_executable(staged),
            python_request=request.python,
            packages=request.packages,
            requirement_files=tuple(str(p.absolute()) for p in request.requirement_files),
            lock=None if request.lock is None else str(request.lock.absolute()),
            accelerator=accelerator,
            created=_now(),
        )
        write_record(staged, record)
        rewrite_in_place(staged, staged, final)
        commit_env(staged, final, force=request.force)
    return Created(final, str(env.version), installed)


def _check_accelerator(settings: Settings, accelerator: str) -> None:
    """An unknown accelerator is refused before anything is made (routing only checks
    it when a GPU-built package is asked for)."""
    from cloche.core.variants.select import check_accelerator
    from cloche.ops.gpu import load_catalog

    check_accelerator(load_catalog(settings), accelerator, "--accelerator")


def _install(
    services: Services, env: Interpreter, staged: Path, request: CreateRequest
) -> tuple[int, str | None]:
    """Install what ``request`` asks for: how many packages, and the accelerator build
    the torch family was routed to (None when nothing was routed)."""
    if request.lock is not None:
        return _install_lock(services, env, staged, request.lock), None
    if not request.packages and not request.requirement_files:
        return 0, None
    from cloche.ops.pip_env import InstallOptions, install_requirements
    from cloche.ops.requirements import gather

    asked = gather(request.packages, request.requirement_files)
    variant = None
    if request.accelerator is not None:
        from cloche.ops.accelerated import route_request

        routed, asked = route_request(services.settings, asked, request.accelerator)
        for warning in routed.warnings:
            services.reporter.warning(warning)
        if routed.line is not None:
            services.reporter.info(routed.line)
        services, variant = services.using(routed.settings), routed.accelerator
    plan = install_requirements(services, env, asked, InstallOptions())
    return len(plan.install), variant


def _install_lock(services: Services, env: Interpreter, staged: Path, lock_file: Path) -> int:
    from cloche.core.lock.toml_reader import load_lock
    from cloche.core.project.spec import ProjectSpec
    from cloche.ops.stamp import Selection
    from cloche.ops.sync import install_lock

    lock = load_lock(lock_file)
    # Not a project: nothing of its own to install; the stamp it clears is the staged env's.
    spec = ProjectSpec(root=staged, name=None, requires_python=None)
    directory = lock_file.absolute().parent
    plan = install_lock(services, lock, env, Selection(), spec, lock_dir=directory)
    return len(plan.install)


def _base_executable(env: Path) -> str:
    return pyvenv_cfg(env).get("executable", "")


def clone_env(source: str, name: str, *, force: bool = False) -> tuple[Path, CloneCounts]:
    """Make ``name`` a copy of the env ``source`` by re-linking, all or nothing."""
    src = env_path(source)
    check_name(name)
    root = envs_root()
    refuse_existing(name, root, force)
    final = root / name
    if final == src:
        raise ProjectError(f"cannot clone {source!r} onto itself")
    with staged_env(name, root) as staged:
        counts = clone_tree(src, staged, final)
        rename_prompt(staged, source, name)
        record = read_record(staged)
        if record is not None:
            record = replace(record, name=name, cloned_from=source, created=_now())
        else:
            cfg_version = _version_of(staged)
            record = EnvRecord(
                name=name,
                python_version=cfg_version,
                base_executable=_base_executable(staged),
                cloned_from=source,
                created=_now(),
            )
        # Never written through: a linked record would change the source's too.
        (staged / ENV_RECORD).unlink(missing_ok=True)
        write_record(staged, record)
        commit_env(staged, final, force=force)
    return final, counts


def _version_of(env: Path) -> str:
    cfg = pyvenv_cfg(env)
    return cfg.get("version") or cfg.get("version_info") or ""
