"""Each exact pin's wheel, started as soon as the pin's index page arrives."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from packaging.version import Version

from cloche.core.models import DistFile, Metadata, NormalizedName, Target
from cloche.core.resolver import ResolveOptions
from cloche.core.resolver.model import is_exact_pin
from cloche.core.resolver.releases import ReleaseTable, tag_ranks
from cloche.ops.finder.stored import applicable_specs, best_release
from cloche.ops.requirements import Asked


class PinnedWheelsAhead:
    """A PickFiles that starts each exact pin's wheel as soon as the pin's page arrives.

    The wheel is the file the resolver will choose (the same release table, the same
    ranking); ``start`` puts it into the store (see ``ahead.py``). It picks no
    metadata itself: with dependencies to read, the resolver's own PickFiles does.
    Pins the environment already satisfies start nothing.
    """

    def __init__(
        self,
        start: Callable[[DistFile], None],
        asked: Asked,
        target: Target,
        options: ResolveOptions,
        installed: Mapping[NormalizedName, Version],
    ) -> None:
        self._start = start
        specs = applicable_specs(asked, target.markers)
        direct = {u.name for u in asked.requirements if u.requirement.url or u.editable}
        self._pins = {
            name: spec
            for name, spec in specs.items()
            if is_exact_pin(spec)
            and name not in direct
            and not (name in installed and spec.contains(installed[name], prereleases=True))
        }
        self._allowed: dict[NormalizedName, set[str]] = {}
        for user in asked.requirements:  # --hash: a wheel outside them fails the install
            for algorithm, digest in user.hashes:
                if algorithm == "sha256":
                    self._allowed.setdefault(user.name, set()).add(digest)
        self._target = target
        self._ranks = tag_ranks(target.tag_priority())
        self._options = options

    def __bool__(self) -> bool:
        """Whether any pin may start a wheel."""
        return bool(self._pins)

    def __call__(self, name: NormalizedName, files: Sequence[DistFile]) -> tuple[DistFile, ...]:
        spec = self._pins.get(name)
        if spec is not None:
            policy = self._options.file_policy(name)
            hashes = self._options.allowed_sha256(name)
            release = best_release(
                ReleaseTable(name, files, self._target, self._ranks, policy, hashes), spec
            )
            chosen = release.chosen if release is not None else None
            allowed = self._allowed.get(name)
            if (
                chosen is not None
                and chosen.is_wheel
                and chosen.sha256
                and (allowed is None or chosen.sha256 in allowed)
            ):
                self._start(chosen)
        return ()

    def on_metadata(self, file: DistFile, metadata: Metadata) -> None:
        pass  # none is asked for
