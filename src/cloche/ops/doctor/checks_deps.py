"""Checks on what the installed distributions declare: requirements, duplicates, clashes."""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from packaging.requirements import InvalidRequirement, Requirement

from cloche.adapters.install import InstalledDist
from cloche.core.models import NormalizedName, normalize
from cloche.ops.doctor.model import DoctorEnv, Finding, Fix, FixKind, Severity
from cloche.ops.doctor.records import record_agreement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]


def unmet_requirements(env: DoctorEnv) -> Iterator[Finding]:
    """What ``pip check`` reports: a dependency missing, or installed at a version
    the requirement excludes (evaluated with the env's markers, extras left out)."""
    by_name = {dist.name: dist for dist in env.dists}
    environment = {**env.marker_env, "extra": ""}
    for dist in env.dists:
        for line in dist.requires:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                yield Finding(
                    "unmet-requirement",
                    Severity.WARNING,
                    f"{dist} declares an invalid requirement",
                    (f"{dist.dist_info / 'METADATA'}: Requires-Dist: {line}",),
                )
                continue
            if req.marker is not None and not req.marker.evaluate(environment):
                continue
            wanted = f"{req.name}{req.specifier}"
            found = by_name.get(normalize(req.name))
            if found is None:
                what, evidence = "missing dependency", f"{dist} requires {wanted}; not installed"
            elif not req.specifier.contains(found.version, prereleases=True):
                what = "requirement not met"
                evidence = f"{dist} requires {wanted}; {found} is installed"
            else:
                continue
            yield Finding(
                "unmet-requirement",
                Severity.ERROR,
                f"{what}: {req.name} (needed by {dist.display_name or dist.name})",
                (evidence,),
                f'cloche pip install {env.python_command} "{wanted}"',
            )


def duplicate_distributions(env: DoctorEnv) -> Iterator[Finding]:
    """Two ``.dist-info`` directories for one name: imports get one, uninstall the other."""
    groups: dict[NormalizedName, list[InstalledDist]] = {}
    for dist in env.dists:
        groups.setdefault(dist.name, []).append(dist)
    for name, dists in groups.items():
        if len(dists) < 2:
            continue
        # The copy whose RECORD matches the files on disk is the live one.
        ranked = sorted(dists, key=lambda d: (record_agreement(d), d.version), reverse=True)
        keep, stale = ranked[0], ranked[1:]
        for dist in stale:
            yield Finding(
                "duplicate-dist",
                Severity.ERROR,
                f"two distributions of {name}: {keep.version} and {dist.version}",
                (
                    f"kept (its RECORD matches the files): {keep.dist_info}",
                    f"stale: {dist.dist_info}",
                ),
                f"rm -r {dist.dist_info}",
                Fix(FixKind.REMOVE_DIST_INFO, name, str(dist.version), dist.dist_info),
            )


@dataclass(frozen=True, slots=True)
class Clash:
    """Distribution families that must not be installed together (``clashes.toml``)."""

    families: tuple[str, ...]
    why: str
    together_with: tuple[str, ...] = ()


@cache
def known_clashes() -> tuple[Clash, ...]:
    """The clashing families shipped in ``clashes.toml``."""
    from importlib.resources import files

    data = tomllib.loads(files("cloche.ops.doctor").joinpath("clashes.toml").read_text("utf-8"))
    return tuple(
        Clash(tuple(entry["families"]), entry["why"], tuple(entry.get("with", ())))
        for entry in data["clash"]
    )


def clashing_distributions(env: DoctorEnv) -> Iterator[Finding]:
    """Known pairs that overwrite each other (``opencv-python`` + ``-headless`` ...)."""
    names = sorted({dist.name for dist in env.dists})
    for clash in known_clashes():
        if not all(normalize(n) in names for n in clash.together_with):
            continue
        hits = {
            family: [n for n in names if fnmatch.fnmatchcase(n, family)]
            for family in clash.families
        }
        present = {family: found for family, found in hits.items() if found}
        if len(present) < 2:
            continue
        listed = [name for found in present.values() for name in found]
        others = [name for found in list(present.values())[1:] for name in found]
        yield Finding(
            "clashing-dists",
            Severity.ERROR,
            f"clashing distributions installed together: {', '.join(listed)}",
            (clash.why, *(f"{f}: {', '.join(found)}" for f, found in present.items())),
            f"cloche pip uninstall {env.python_command} {' '.join(others)} "
            "(keep the one you want, then reinstall it)",
        )
