"""Route the GPU-built packages a command asks for to the build this machine can run.

Settings plus detection (``ops.gpu``) become settings whose ``package_indexes`` pin
the torch family to the chosen variant's index (``torch -> <torch index>/cpu``), and
the CUDA extras TensorFlow and JAX take (``jax[cuda12]``). Everything else keeps the
normal indexes. A family the user pinned to an index themselves (any member in
``[tool.cloche.sources]``) is left where they put it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from cloche.config import Settings
from cloche.core.models import NormalizedName, normalize
from cloche.core.variants.frameworks import Selection, select
from cloche.core.variants.model import Catalog, CudaPolicy
from cloche.core.variants.select import FrameworkChoice, Request, check_accelerator
from cloche.ops.gpu_relevance import gpu_built
from cloche.ops.requirements import Asked


def _no_extras() -> Mapping[NormalizedName, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class AcceleratorAsk:
    """Which accelerator a command was asked for; None: detect (or the settings')."""

    accelerator: str | None = None
    origin: str = "--accelerator"
    torch_version: str | None = None
    """``2.9`` when the request pins torch (``torch==2.9.*``): only that release."""


@dataclass(frozen=True, slots=True)
class Routed:
    """The settings to run with, and what was chosen (None when nothing was routed)."""

    settings: Settings
    accelerator: str | None = None
    """The variant the torch family is pinned to (``cpu``, ``cu128``)."""
    line: str | None = None
    """One line for the user: which build, from where, and why."""
    warnings: tuple[str, ...] = ()
    extras: Mapping[NormalizedName, str] = field(default_factory=_no_extras)
    """The CUDA extra each framework asked for takes (``jax -> cuda12``)."""


def governed(catalog: Catalog, names: Iterable[str]) -> set[NormalizedName]:
    """The names among ``names`` whose build depends on the accelerator."""
    return gpu_built(catalog.torch_family, names)


def route(settings: Settings, names: Iterable[str], ask: AcceleratorAsk) -> Routed:
    """``settings`` with the torch family pinned to the variant this machine (or ``ask``)
    gets, when ``names`` holds a GPU-built package; unchanged otherwise."""
    from cloche.ops.gpu import load_catalog

    wanted = set(names)
    if not wanted:
        return Routed(settings)
    catalog = load_catalog(settings)
    asked = governed(catalog, wanted)
    if not asked:
        return Routed(settings)
    selection = choose(settings, catalog, ask)
    family = {normalize(member) for member in catalog.torch_family}
    routed, line, warnings = settings, None, []
    torch = selection.torch
    if asked & family and family & set(settings.package_indexes):
        pass  # the user pinned the family to an index themselves: theirs stands
    elif asked & family:
        if torch.index_url is None and torch.release is None:
            warnings.append(f"torch: {torch.reason}")
        elif torch.index_url is None:
            line = f"torch: {torch.reason}"
        else:
            pins = {**settings.package_indexes, **dict.fromkeys(sorted(family), torch.index_url)}
            where = catalog.build_platforms(torch.variant) if torch.variant else None
            routed = replace(settings, package_indexes=pins, build_platforms=where)
            line = f"torch: the {torch.variant} build from {torch.index_url} ({torch.reason})"
    extras = _extras(selection, asked)
    if line is None and extras:
        line = "; ".join(f"{name}[{extra}]" for name, extra in sorted(extras.items()))
        line += f" ({_reason(selection, extras)})"
    variant = torch.variant if torch.index_url is not None else None
    return Routed(routed, variant, line, tuple(warnings), MappingProxyType(extras))


def choose(settings: Settings, catalog: Catalog, ask: AcceleratorAsk) -> Selection:
    """The selection for this machine, forced by ``ask`` or the settings' accelerator."""
    from cloche.ops.gpu import machine_for

    if ask.accelerator is not None:
        forced, origin = check_accelerator(catalog, ask.accelerator, ask.origin), ask.origin
    elif settings.accelerator is not None:
        origin = "CLOCHE_ACCELERATOR (or the accelerator setting)"
        forced = check_accelerator(catalog, settings.accelerator, origin)
    else:
        forced, origin = None, ""
    request = Request(
        policy=CudaPolicy(settings.cuda_policy),
        accelerator=forced,
        accelerator_origin=origin,
        torch_version=ask.torch_version,
    )
    return select(catalog, machine_for(settings), request)


def _extras(selection: Selection, asked: set[NormalizedName]) -> dict[NormalizedName, str]:
    chosen: dict[NormalizedName, str] = {}
    for choice in (selection.jax, selection.tensorflow):
        name = normalize(choice.framework)
        if name in asked and choice.extra:
            chosen[name] = choice.extra
    return chosen


def _reason(selection: Selection, extras: Mapping[NormalizedName, str]) -> str:
    choices: list[FrameworkChoice] = [selection.jax, selection.tensorflow]
    return "; ".join(c.reason for c in choices if normalize(c.framework) in extras)


def with_extras(requirements: Sequence[str], extras: Mapping[NormalizedName, str]) -> list[str]:
    """``requirements`` with each framework's CUDA extra added (``jax`` -> ``jax[cuda12]``);
    lines that are no plain requirement, or already name an extra, are kept as they are."""
    if not extras:
        return list(requirements)
    from packaging.requirements import InvalidRequirement, Requirement

    out = []
    for text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            out.append(text)
            continue
        extra = extras.get(normalize(requirement.name))
        if extra is None or requirement.extras or requirement.url:
            out.append(text)
            continue
        requirement.extras = {extra}
        out.append(str(requirement))
    return out


def torch_series(requirements: Iterable[object]) -> str | None:
    """The release a ``torch==X.Y[.Z]`` requirement pins, for the catalog; None otherwise."""
    for requirement in requirements:
        name = getattr(requirement, "name", None)
        specifier = getattr(requirement, "specifier", None)
        if name is None or normalize(str(name)) != "torch" or specifier is None:
            continue
        for clause in specifier:
            if clause.operator in ("==", "===", "~="):
                return str(clause.version).rstrip(".*").split("+", 1)[0]
    return None


def route_request(settings: Settings, asked: Asked, accelerator: str) -> tuple[Routed, Asked]:
    """``cloche pip install --accelerator``: the routed settings, and the request with
    each framework's CUDA extra added (``jax`` -> ``jax[cuda12]``)."""
    requirements = [user.requirement for user in asked.requirements]
    ask = AcceleratorAsk(accelerator, "--accelerator", torch_series(requirements))
    routed = route(settings, (user.name for user in asked.requirements), ask)
    if not routed.extras:
        return routed, asked
    changed = []
    for user in asked.requirements:
        extra = routed.extras.get(user.name)
        requirement = user.requirement
        if extra is not None and not requirement.extras and not requirement.url:
            from packaging.requirements import Requirement

            requirement = Requirement(str(requirement))
            requirement.extras = {extra}
            user = replace(user, requirement=requirement)
        changed.append(user)
    return routed, replace(asked, requirements=tuple(changed))
