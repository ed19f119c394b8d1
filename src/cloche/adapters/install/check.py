"""``pip check``: dependencies each installed distribution declares but does not have."""

from __future__ import annotations

from collections.abc import Mapping

from packaging.requirements import InvalidRequirement, Requirement

from cloche.adapters.install.installed import damage, installed_distributions
from cloche.adapters.install.layout import EnvLayout
from cloche.core.models import normalize


def _wanted(requirement: Requirement) -> str:
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{requirement.name}{extras}{requirement.specifier}"


def check(layout: EnvLayout, markers: Mapping[str, str]) -> list[str]:
    """One line per damaged distribution, and per missing or wrong-version dependency
    (evaluated with the env's ``markers``)."""
    dists = installed_distributions(layout)
    by_name = {dist.name: dist for dist in dists}
    environment = {**markers, "extra": ""}
    problems = []
    for dist in dists:
        why = damage(dist)
        if why is not None:
            problems.append(
                f"{dist} is not wholly installed: {why}; fix it with "
                f"cloche pip install --force-reinstall {dist.name}=={dist.version}"
            )
        for line in dist.requires:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                problems.append(f"{dist} has an invalid requirement {line!r}")
                continue
            if requirement.marker is not None and not requirement.marker.evaluate(environment):
                continue
            found = by_name.get(normalize(requirement.name))
            if found is None:
                problems.append(f"{dist} requires {_wanted(requirement)}, which is not installed")
            elif not requirement.specifier.contains(found.version, prereleases=True):
                problems.append(f"{dist} requires {_wanted(requirement)}, but {found} is installed")
    return problems
