"""The plan: what an install changes in an environment, and which of its wheels the
store already holds (``cached``: only linking left) and which must be fetched or
built first (``remote``). Computed once, read by ``apply``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cloche.adapters.install import EnvLayout, InstalledDist, damage, installed_distributions
from cloche.core.direct_url import recorded_url
from cloche.core.models import (
    DistFile,
    Interpreter,
    NormalizedName,
    Resolution,
    UserRequirement,
    normalize,
    wheel_fits,
)
from cloche.core.plan import InstallPlan, Present, Wanted, plan_install
from cloche.errors import InstallError

if TYPE_CHECKING:
    from cloche.adapters.store import UnpackedWheel


@dataclass(frozen=True, slots=True)
class Artifact:
    """Where a wanted distribution comes from: an index file, or a direct URL."""

    file: DistFile | None = None
    url: str | None = None
    editable: bool = False
    allowed_sha256: frozenset[str] = frozenset()
    """--require-hashes: the archive's sha256 must be one of these (empty: no check)."""
    stored: UnpackedWheel | None = None
    """Its wheel, unpacked in the store, when the plan found it there."""

    @property
    def in_store(self) -> bool:
        return self.stored is not None


Plan = InstallPlan[Artifact, InstalledDist]


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


def plan_for(
    layout: EnvLayout,
    wanted: Sequence[Wanted[Artifact]],
    stored: Callable[[DistFile], UnpackedWheel | None],
    *,
    exact: bool = False,
    reinstall: bool | frozenset[str] = False,
    protected: frozenset[NormalizedName] = frozenset(),
    present: Sequence[Present[InstalledDist]] | None = None,
) -> Plan:
    """Diff ``wanted`` against the env (``present``: what it holds, when already read),
    and find what is already unpacked in the store.

    ``stored`` answers for one index file (``Store.unpacked_dist``, or the stored
    finder's answer, which knows kept sdist builds too).
    """
    reinstall_names: bool | frozenset[NormalizedName] = (
        reinstall if isinstance(reinstall, bool) else frozenset(normalize(n) for n in reinstall)
    )
    if present is None:
        present = present_in(layout)
    if reinstall_names is not True:
        # A distribution cut short (no RECORD, files gone) is not installed: put it back whole.
        names = {w.name for w in wanted}
        broken = {p.name for p in present if p.name in names and damage(p.dist) is not None}
        if broken:
            reinstall_names = frozenset(reinstall_names or ()) | broken
    plan = plan_install(
        wanted, present, exact=exact, reinstall=reinstall_names, protected=protected
    )
    return replace(plan, install=tuple(_located(w, stored) for w in plan.install))


def _located(
    want: Wanted[Artifact], stored: Callable[[DistFile], UnpackedWheel | None]
) -> Wanted[Artifact]:
    """``want`` with its stored wheel, when it is an index file the store holds (by sha256).

    The store keys unpacked wheels by their archive's checked sha256, so a --hash the
    file's own sha256 is among needs no second check; a direct URL, or a --hash the
    index's sha256 is not among, goes through the preparer.
    """
    artifact = want.source
    if artifact.file is None or artifact.url is not None:
        return want
    if artifact.allowed_sha256 and artifact.file.sha256 not in artifact.allowed_sha256:
        return want
    wheel = stored(artifact.file)
    return want if wheel is None else replace(want, source=replace(artifact, stored=wheel))


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
    """Attach the user's --hash values so the preparer checks each archive against them."""
    return [
        replace(w, source=replace(w.source, allowed_sha256=frozenset(allowed.get(w.name, ()))))
        for w in wanted
    ]
