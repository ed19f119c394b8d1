"""What an install must change: wanted distributions vs what the environment has."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from packaging.version import Version

from cloche.core.models import NormalizedName


class Source(Protocol):
    """Where a wanted distribution comes from, as far as the plan cares."""

    @property
    def in_store(self) -> bool:
        """Whether its wheel is already unpacked in the store (nothing to fetch or build)."""
        ...


T = TypeVar("T", bound=Source)
D = TypeVar("D")


@dataclass(frozen=True, slots=True)
class Wanted(Generic[T]):
    """A distribution the environment should hold; ``source`` says where it comes from."""

    name: NormalizedName
    version: Version
    source: T
    direct_url: str | None = None
    editable: bool = False
    requested: bool = False


@dataclass(frozen=True, slots=True)
class Present(Generic[D]):
    """A distribution the environment holds; ``dist`` is the installer's record of it."""

    name: NormalizedName
    version: Version
    dist: D
    direct_url: str | None = None
    editable: bool = False


@dataclass(frozen=True, slots=True)
class InstallPlan(Generic[T, D]):
    """What an install changes in an environment: adds, removals, and what stays."""

    install: tuple[Wanted[T], ...]
    """New distributions, and new versions of changed ones."""
    remove: tuple[Present[D], ...]
    """Old versions of changed distributions, and extraneous ones when syncing exactly."""
    keep: tuple[Present[D], ...]

    @property
    def is_noop(self) -> bool:
        return not self.install and not self.remove

    @property
    def cached(self) -> tuple[Wanted[T], ...]:
        """What ``install`` takes straight from the store: it only needs linking."""
        return tuple(w for w in self.install if w.source.in_store)

    @property
    def remote(self) -> tuple[Wanted[T], ...]:
        """What ``install`` must first download, build or unpack."""
        return tuple(w for w in self.install if not w.source.in_store)


def plan_install(
    wanted: Iterable[Wanted[T]],
    present: Iterable[Present[D]],
    *,
    exact: bool = False,
    reinstall: bool | frozenset[NormalizedName] = False,
    protected: frozenset[NormalizedName] = frozenset(),
) -> InstallPlan[T, D]:
    """Diff ``wanted`` against ``present``.

    ``exact`` removes what is present but not wanted (sync); ``protected`` names are
    never removed as extraneous (e.g. the tool's own seed packages when asked).
    """
    have = {p.name: p for p in present}
    install: list[Wanted[T]] = []
    remove: list[Present[D]] = []
    keep: list[Present[D]] = []
    wanted_names: set[NormalizedName] = set()
    for want in sorted(wanted, key=lambda w: w.name):
        wanted_names.add(want.name)
        current = have.get(want.name)
        forced = reinstall is True or (isinstance(reinstall, frozenset) and want.name in reinstall)
        if current is not None and not forced and _same(want, current):
            keep.append(current)
            continue
        if current is not None:
            remove.append(current)
        install.append(want)
    if exact:
        for name, current in sorted(have.items()):
            if name not in wanted_names and name not in protected:
                remove.append(current)
    else:
        keep.extend(p for n, p in sorted(have.items()) if n not in wanted_names)
    return InstallPlan(tuple(install), tuple(remove), tuple(keep))


def _same(want: Wanted[T], current: Present[D]) -> bool:
    if want.version != current.version or want.editable != current.editable:
        return False
    # A distribution installed from a URL is only the same when the URL is (as
    # recorded: direct_url.json holds no password).
    if want.direct_url is None or current.direct_url is None:
        return want.direct_url == current.direct_url
    from cloche.core.direct_url import public_url

    return public_url(want.direct_url) == public_url(current.direct_url)


def removals_now(plan: InstallPlan[T, D], present: Iterable[Present[D]]) -> tuple[Present[D], ...]:
    """What to remove when ``plan`` is carried out in an env that may have changed since
    it was planned (another process installed or removed something meanwhile).

    Every present distribution of a name the plan removes or installs: installing
    ``x`` then replaces whatever ``x`` is there by then, never leaving two versions.
    """
    names = {p.name for p in plan.remove} | {w.name for w in plan.install}
    return tuple(p for p in present if p.name in names)
