"""Resolver cases from tests/resolver_cases/*.json, run through an in-memory PackageFinder.

A case holds an index snapshot and what to ask for::

    {"index": {"name": {"1.0": {"requires": ["b>=1; extra == 'x'"],
                                "requires_python": ">=3.9",        # index (file) level
                                "metadata_requires_python": ">=3.9",  # metadata only
                                "files": ["py3-none-any", "sdist", {"tag": "...", "yanked": ""}],
                                "yanked": true,
                                "metadata": "Name: ...\n"}}},  # raw METADATA, read as is
     "direct": {"https://host/a-1.0.tar.gz": {"name": "a", "version": "1.0", "requires": []}},
     "requested": ["a>=1"], "constraints": [], "preferences": {"a": "1.0"},
     "options": {"prerelease": false, "prerelease_mode": "explicit", "upgrade": false,
                 "upgrade_packages": [],
                 "no_binary": [], "only_binary": []},
     "target": {"python": "3.10", "platform": "linux"},
     "resolved": {"a": "1.0"}, "chosen": {"a": "a-1.0-py3-none-any.whl"},
     "error": "ResolutionError", "message": ["substring", ...],
     "max_rounds": 40,    # resolver rounds allowed (default ROUND_BOUND)
     "warnings": ["substring", ...]}

Every case counts its resolver rounds (pins and backtracks, not seconds: stable on any
machine) and fails past its bound: a conflict must be found out, not searched for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from cloche import errors
from cloche.core.metadata import lenient_requirement, parse_core_metadata
from cloche.core.models import (
    DistFile,
    Metadata,
    NormalizedName,
    Resolution,
    Target,
    UserRequirement,
    normalize,
)
from cloche.core.prerelease import PrereleaseMode
from cloche.core.report import NullReporter
from cloche.core.resolver import ResolveOptions, resolve
from cloche.core.targets import target_for

CASES = Path(__file__).parent / "resolver_cases"
ROUND_BOUND = 100
INDEX = "https://index.test/simple/"


def _spec(text: str | None) -> SpecifierSet | None:
    return SpecifierSet(text) if text else None


class MemoryFinder:
    """A PackageFinder over a dict snapshot; records what the resolver asked for."""

    def __init__(
        self, index: Mapping[str, Mapping[str, Any]], direct: Mapping[str, Any] | None = None
    ) -> None:
        self._files: dict[NormalizedName, list[DistFile]] = {}
        self._metadata: dict[str, Metadata] = {}
        self._direct = dict(direct or {})
        self.metadata_calls: list[str] = []
        self.prefetched: list[NormalizedName] = []
        self.prefetched_metadata: list[str] = []
        self._raw_metadata: dict[str, str] = {}
        """Raw METADATA text by file URL, for releases with "metadata" in the case."""
        for raw_name, versions in index.items():
            name = normalize(raw_name)
            for version, release in versions.items():
                self._add_release(name, Version(version), release)

    def _add_release(
        self, name: NormalizedName, version: Version, release: Mapping[str, Any]
    ) -> None:
        metadata = Metadata(
            name=name,
            version=version,
            requires_dist=tuple(lenient_requirement(r) for r in release.get("requires", [])),
            requires_python=_spec(release.get("metadata_requires_python")),
            provides_extras=frozenset(normalize(e) for e in release.get("extras", [])),
        )
        stem = f"{name.replace('-', '_')}-{version}"
        for entry in release.get("files", ["py3-none-any"]):
            spec = {"tag": entry} if isinstance(entry, str) else dict(entry)
            tag = spec["tag"]
            filename = f"{stem}.tar.gz" if tag == "sdist" else f"{stem}-{tag}.whl"
            yanked = spec.get("yanked", "" if release.get("yanked") else None)
            file = DistFile(
                name=name,
                version=version,
                filename=filename,
                url=f"https://files.test/{filename}",
                index=INDEX,
                hashes=(("sha256", f"{filename}-digest"),),
                requires_python=_spec(spec.get("requires_python", release.get("requires_python"))),
                yanked=yanked,
            )
            self._files.setdefault(name, []).append(file)
            self._metadata[file.url] = metadata
            if "metadata" in release:
                self._raw_metadata[file.url] = release["metadata"]

    def files(self, name: NormalizedName) -> Sequence[DistFile]:
        return self._files.get(name, [])

    def metadata(self, file: DistFile) -> Metadata:
        self.metadata_calls.append(file.filename)
        raw = self._raw_metadata.get(file.url)
        if raw is not None:
            parse_core_metadata(raw.encode(), source=file.filename)  # raises when unreadable
        return self._metadata[file.url]

    def direct_metadata(self, requirement: Requirement) -> tuple[Metadata, DistFile | None]:
        info = self._direct[requirement.url or ""]
        name, version = normalize(info["name"]), Version(info["version"])
        metadata = Metadata(
            name=name,
            version=version,
            requires_dist=tuple(Requirement(r) for r in info.get("requires", [])),
        )
        url = requirement.url or ""
        file = None
        if url.endswith((".whl", ".tar.gz")):
            file = DistFile(name, version, url.rsplit("/", 1)[-1], url, index=url)
        return metadata, file

    def prefetch(self, names: Iterable[NormalizedName], then: object = None) -> None:
        self.prefetched.extend(names)

    def prefetch_metadata(self, files: Iterable[DistFile]) -> None:
        self.prefetched_metadata.extend(f.filename for f in files)


def user_requirements(
    lines: Sequence[str], origin: str = "requirements.in"
) -> list[UserRequirement]:
    return [UserRequirement(Requirement(line), f"{origin}:{i}") for i, line in enumerate(lines, 1)]


class RoundCounter(NullReporter):
    """Keeps the round count the resolver reports when it ends, and the warnings."""

    def __init__(self) -> None:
        self.rounds: int | None = None
        self.warnings: list[str] = []

    def warning(self, message: str) -> None:
        self.warnings.append(message)

    def debug(self, message: str) -> None:
        if message.startswith("resolver: ") and message.endswith(" rounds"):
            self.rounds = int(message.split()[1])


def run_case(
    case: Mapping[str, Any], reporter: RoundCounter | None = None
) -> tuple[Resolution, MemoryFinder]:
    finder = MemoryFinder(case.get("index", {}), case.get("direct"))
    target_spec = case.get("target", {})
    target = target_for(target_spec.get("python", "3.10"), target_spec.get("platform", "linux"))
    raw = case.get("options", {})
    options = ResolveOptions(
        constraints=tuple(user_requirements(case.get("constraints", []), "constraints.txt")),
        preferences=tuple(
            (normalize(n), Version(v)) for n, v in case.get("preferences", {}).items()
        ),
        upgrade=raw.get("upgrade", False),
        upgrade_packages=frozenset(normalize(n) for n in raw.get("upgrade_packages", [])),
        prerelease=raw.get("prerelease", False),
        prerelease_mode=PrereleaseMode(raw["prerelease_mode"])
        if "prerelease_mode" in raw
        else None,
        no_binary=frozenset(raw.get("no_binary", [])),
        only_binary=frozenset(raw.get("only_binary", [])),
        # A regression fails in seconds, not after resolvelib's own 200000 rounds.
        max_rounds=case.get("max_rounds", ROUND_BOUND) * 10,
    )
    requested = user_requirements(case["requested"])
    return resolve(requested, finder, target, options, reporter), finder


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.mark.parametrize("path", sorted(CASES.glob("*.json")), ids=lambda p: p.stem)
def test_resolver_case(path: Path) -> None:
    case = _load(path)
    counter = RoundCounter()
    if "error" in case:
        error_type = getattr(errors, case["error"])
        with pytest.raises(error_type) as info:
            run_case(case, counter)
        for fragment in case["message"]:
            assert fragment in str(info.value), str(info.value)
        _check_rounds(case, counter)
        return
    resolution, _finder = run_case(case, counter)
    _check_rounds(case, counter)
    for fragment in case.get("warnings", []):
        assert any(fragment in w for w in counter.warnings), counter.warnings
    got = {p.name: str(p.version) for p in resolution.packages}
    assert got == case["resolved"]
    chosen = {p.name: p.chosen.filename if p.chosen else None for p in resolution.packages}
    for name, filename in case.get("chosen", {}).items():
        assert chosen[name] == filename


def _check_rounds(case: Mapping[str, Any], counter: RoundCounter) -> None:
    bound = case.get("max_rounds", ROUND_BOUND)
    if counter.rounds is not None:  # None: refused before resolving (a bad constraint)
        assert counter.rounds <= bound, f"{counter.rounds} rounds, bound {bound}"


def test_cases_are_present() -> None:
    assert len(list(CASES.glob("*.json"))) >= 20


def make_target(platform: str = "linux", python: str = "3.10") -> Target:
    return target_for(python, platform)
