"""Per-accelerator locks (PEP 751 named lockfiles, ``pylock.cu128.toml``): which one a
project command uses, and whether this machine can run the torch build it holds.

The check runs before anything is installed: a lock whose CUDA needs a newer driver,
or whose build has no code for a GPU present, is refused with the versions named and
the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from packaging.pylock import Pylock

from cloche.config import Settings
from cloche.core.project.roots import requirements_for
from cloche.core.project.spec import LOCKFILE, ProjectSpec, lock_file_name
from cloche.core.variants.cuda import arch_fit, describe_driver, driver_fit, required_driver
from cloche.core.variants.model import CudaPolicy, VariantKind
from cloche.core.variants.select import check_accelerator
from cloche.errors import UsageError
from cloche.ops.accelerated import (
    AcceleratorAsk,
    Routed,
    choose,
    governed,
    route,
    torch_series,
)
from cloche.ops.gpu_relevance import NAMED_LOCK, named_locks, torch_label


def lock_name_for(variant: str) -> str:
    """The named lock of a variant: ``cu128`` -> ``cu128``, ``rocm6.4`` -> ``rocm6-4``
    (PEP 751 allows no dot in a lock's name)."""
    return variant.replace(".", "-")


def variant_of(lock_name: str, variants: tuple[str, ...]) -> str | None:
    """The variant a named lock is for, or None when its name is no variant's."""
    return next((v for v in variants if lock_name_for(v) == lock_name), None)


class LockRefused(UsageError):
    """This machine cannot run the torch build a lock holds."""


def pick_lock(
    settings: Settings, root: Path, accelerator: str | None, lock: str | None
) -> str | None:
    """The named lock a command uses (None: ``pylock.toml``).

    ``--lock NAME`` names it; ``--accelerator X`` means ``pylock.X.toml`` (``auto``: the
    machine's). With neither, ``pylock.toml`` when the project has one, else the named
    lock this machine's accelerator selects among those present.
    """
    from cloche.ops.gpu import load_catalog

    if lock is not None:
        if lock != lock.strip() or not lock or not NAMED_LOCK.match(lock_file_name(lock)):
            raise UsageError(
                f"--lock {lock!r} is no lock name: PEP 751 names pylock.<name>.toml, "
                "with no dot or slash in <name> (pylock.rocm6-4.toml is --accelerator rocm6.4)"
            )
        return lock
    if accelerator is not None:
        catalog = load_catalog(settings)
        forced = check_accelerator(catalog, accelerator, "--accelerator")
        if forced is None:
            forced = choose(settings, catalog, AcceleratorAsk()).accelerator
        return lock_name_for(forced)
    present = named_locks(root)
    if (root / LOCKFILE).is_file() or not present:
        return None
    catalog = load_catalog(settings)
    detected = lock_name_for(choose(settings, catalog, AcceleratorAsk()).accelerator)
    if detected in present:
        return detected
    variants = catalog.variant_names()
    fitting = [name for name in present if not _problems(settings, variant_of(name, variants))]
    # Without an NVIDIA GPU chosen, never a CUDA build unless asked for.
    cuda = [name for name in fitting if name.startswith("cu") and detected.startswith("cu")]
    best = max(cuda, key=lambda n: int(n[2:]) if n[2:].isdigit() else 0) if cuda else None
    chosen = best or ("cpu" if "cpu" in fitting else None)
    if chosen is None:
        listed = ", ".join(lock_file_name(name) for name in present)
        raise LockRefused(
            f"no lock of this project fits this machine ({detected} wanted; it has {listed})",
            hint=f"run 'cloche lock --accelerator {detected}'",
        )
    return chosen


def route_for_lock(
    settings: Settings,
    spec: ProjectSpec,
    accelerator: str | None = None,
    more_names: tuple[str, ...] = (),
) -> Routed:
    """The settings to lock (and check freshness) with: the torch family pinned to the
    variant the lock is for. A named lock's name decides (``pylock.cu128.toml``), else
    ``--accelerator``, else the ``accelerator`` setting, else the build ``pylock.toml``
    holds already (a lock made on another machine stays as it is), else this machine's."""
    names = (*spec.named, *more_names)
    from cloche.ops.gpu import load_catalog

    catalog = load_catalog(settings) if names else None
    if catalog is None or not governed(catalog, names):
        return Routed(settings)
    series = torch_series(requirements_for(spec, all_groups=True, all_extras=True))
    ask = AcceleratorAsk(torch_version=series)
    named = variant_of(spec.lock_name, catalog.variant_names()) if spec.lock_name else None
    if named is not None:
        ask = AcceleratorAsk(named, f"the lock's name ({spec.lock_file})", series)
    elif accelerator is not None:
        ask = AcceleratorAsk(accelerator, "--accelerator", series)
    elif settings.accelerator is None:  # the setting (CLOCHE_ACCELERATOR) re-chooses
        held = _held_variant(spec, settings)
        if held is not None and held.split("+", 1)[1] in catalog.variant_names():
            origin = f"{spec.lock_file} (it holds torch {held})"
            ask = AcceleratorAsk(held.split("+", 1)[1], origin, series)
    return route(settings, names, ask)


def _held_variant(spec: ProjectSpec, settings: Settings) -> str | None:
    from cloche.errors import ProjectError
    from cloche.ops.lock import read_lock

    try:
        lock = read_lock(spec.lock_path, settings.cache_dir)
    except ProjectError:
        return None
    return torch_label(lock) if lock is not None else None


def check_lock_fits(settings: Settings, lock: Pylock, lock_file: str) -> None:
    """Raise LockRefused when this machine cannot run the lock's torch build."""
    version = torch_label(lock)
    if version is None:
        return
    problems = _problems(settings, version.split("+", 1)[1], version)
    if not problems:
        return
    from cloche.ops.gpu import load_catalog, machine_for

    catalog = load_catalog(settings)
    machine = machine_for(settings)
    fits = choose(settings, catalog, AcceleratorAsk()).accelerator
    variant = version.split("+", 1)[1]
    meaning = catalog.torch_release(version)
    found = meaning.variant(variant) if meaning else None
    driver_fix = ""
    if found is not None and found.toolkit is not None:
        toolkit = (found.toolkit[0], found.toolkit[1])
        policy = CudaPolicy(settings.cuda_policy)
        need = required_driver(catalog, toolkit, policy)
        if need is not None and not driver_fit(catalog, machine, toolkit, policy).ok:
            driver_fix = f", or install an NVIDIA driver >= {need.text}"
    raise LockRefused(
        f"{lock_file} holds torch {version}, which this machine cannot run: "
        f"{'; '.join(problems)} ({describe_driver(catalog, machine)}); nothing was installed",
        hint=f"use --accelerator {fits} (cloche lock --accelerator {fits}){driver_fix}",
    )


def check_lock_covers(
    settings: Settings, lock: Pylock, lock_file: str, marker_env: Mapping[str, str]
) -> None:
    """Raise LockRefused, naming the lock to use, when ``lock`` holds a torch build that
    does not exist for this machine's platform (a CUDA lock on macOS): it was locked
    without that platform (``ops.lock.covered_targets``)."""
    from packaging.markers import Marker

    environments: list[Marker] = list(lock.environments or ())
    if not environments or any(m.evaluate(dict(marker_env)) for m in environments):
        return
    version = torch_label(lock)
    if version is None:
        return
    from cloche.ops.gpu import load_catalog

    where = load_catalog(settings).build_platforms(version.split("+", 1)[1])
    if where is None:
        return
    machine = " ".join(marker_env.get(key, "?") for key in ("sys_platform", "platform_machine"))
    table = (lock.tool or {}).get("cloche")
    labels = table.get("targets") if isinstance(table, dict) else None
    covered = labels if isinstance(labels, list) and labels else where.platforms
    raise LockRefused(
        f"{lock_file} covers {', '.join(map(str, covered))} only: it holds torch {version}, "
        f"and {where.build} builds do not exist for this machine ({machine}); "
        "nothing was installed",
        hint="use pylock.cpu.toml here: 'cloche sync --accelerator cpu' (made when missing)",
    )


def _problems(settings: Settings, variant: str | None, version: str | None = None) -> list[str]:
    """Why this machine cannot run ``variant`` (of the torch release ``version``, else of the
    newest release that has it); empty when it can, or when that is not known."""
    from cloche.ops.gpu import load_catalog, machine_for

    if variant is None:
        return []
    catalog = load_catalog(settings)
    releases = catalog.torch_releases
    if version is not None:
        release = catalog.torch_release(version)
        releases = (release,) if release is not None else ()
    found = next((r.variant(variant) for r in releases if r.variant(variant)), None)
    if found is None or found.kind is not VariantKind.CUDA:
        return []
    machine = machine_for(settings)
    if machine.vendor != "nvidia":
        return []  # a CUDA build runs (on the CPU) without a GPU: an image build, say
    assert found.toolkit is not None and found.arch is not None
    toolkit = (found.toolkit[0], found.toolkit[1])
    fits = (
        driver_fit(catalog, machine, toolkit, CudaPolicy(settings.cuda_policy)),
        arch_fit(found.arch, machine),
    )
    return [fit.problem for fit in fits if not fit.ok]
