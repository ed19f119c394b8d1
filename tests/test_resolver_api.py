"""Resolver behaviour the JSON cases do not show: result fields, laziness, hints, errors."""

from __future__ import annotations

from typing import Any

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from cloche.core.models import NormalizedName, UserRequirement, normalize
from cloche.core.resolver import ALL, FilePolicy, ResolveOptions, resolve
from cloche.core.resolver.explain import compact_versions
from cloche.errors import RequirementError, ResolutionError
from tests.test_resolver import MemoryFinder, make_target, user_requirements

INDEX: dict[str, Any] = {
    "app": {
        "1.0": {
            "requires": ["lib[fast]>=1", "tomli; python_version < '3.11'"],
            "requires_python": ">=3.9",
            "metadata_requires_python": ">=3.9",
        }
    },
    "lib": {
        "0.5": {},
        "1.0": {
            "requires": ["speedups; extra == 'fast'"],
            "files": ["cp310-cp310-manylinux_2_17_x86_64", "cp310-cp310-win_amd64", "sdist"],
            "extras": ["fast"],
        },
    },
    "speedups": {"1.0": {}, "2.0": {}},
    "tomli": {"2.0.1": {}},
    "unused": {"1.0": {}},
}


class RecordingReporter:
    def __init__(self) -> None:
        self.events: list[str] = []

    def started(self, task: str, total: int | None = None) -> int:
        self.events.append(f"started {task}")
        return 7

    def advanced(self, task_id: int, amount: int = 1) -> None:
        self.events.append(f"advanced {task_id}")

    def finished(self, task_id: int) -> None:
        self.events.append(f"finished {task_id}")

    def info(self, message: str) -> None:
        self.events.append(f"info {message}")

    def warning(self, message: str) -> None:
        self.events.append(f"warning {message}")

    def debug(self, message: str) -> None:
        self.events.append(f"debug {message}")


def test_resolved_package_fields() -> None:
    finder = MemoryFinder(INDEX)
    resolution = resolve(user_requirements(["app"]), finder, make_target("linux"))
    assert [p.name for p in resolution.packages] == ["app", "lib", "speedups", "tomli"]
    pkgs = resolution.by_name()
    lib = pkgs[NormalizedName("lib")]
    assert lib.version == Version("1.0")
    assert len(lib.files) == 3  # every file of the version, for lockfile hashes
    assert lib.chosen is not None
    assert lib.chosen.filename == "lib-1.0-cp310-cp310-manylinux_2_17_x86_64.whl"
    assert lib.extras == frozenset({"fast"})
    assert lib.dependencies == ("speedups",)
    assert lib.requested_by == ("app",)
    app = pkgs[NormalizedName("app")]
    assert app.dependencies == ("lib", "tomli")
    assert app.requested_by == ("requirements.in:1",)
    assert app.requires_python == SpecifierSet(">=3.9")
    assert pkgs[NormalizedName("speedups")].requested_by == ("lib",)
    assert resolution.target.platform == "linux"


def test_requested_by_lists_parents_and_user_origins() -> None:
    finder = MemoryFinder(INDEX)
    requested = user_requirements(["app", "speedups<2", "speedups!=1.5"])
    pkgs = resolve(requested, finder, make_target("linux")).by_name()
    speedups = pkgs[NormalizedName("speedups")]
    assert speedups.version == Version("1.0")
    assert speedups.requested_by == ("lib", "requirements.in:2", "requirements.in:3")


def test_same_requirements_for_another_target() -> None:
    finder = MemoryFinder(INDEX)
    resolution = resolve(user_requirements(["app"]), finder, make_target("windows", "3.12"))
    pkgs = resolution.by_name()
    assert "tomli" not in pkgs
    chosen = pkgs[NormalizedName("lib")].chosen
    assert chosen is not None and chosen.filename == "lib-1.0.tar.gz"  # no cp312 wheel


def test_metadata_is_fetched_only_for_tried_candidates() -> None:
    finder = MemoryFinder(INDEX)
    resolve(user_requirements(["app"]), finder, make_target("linux"))
    assert "lib-0.5-py3-none-any.whl" not in finder.metadata_calls
    assert "speedups-1.0-py3-none-any.whl" not in finder.metadata_calls
    assert not any(f.startswith("unused") for f in finder.metadata_calls)
    assert len(finder.metadata_calls) == len(set(finder.metadata_calls))


def test_prefetches_dependencies_and_likely_metadata() -> None:
    finder = MemoryFinder(INDEX)
    resolve(user_requirements(["app"]), finder, make_target("linux"))
    # The roots first, then each dependency once, as it becomes known.
    assert finder.prefetched[0] == "app"
    assert set(finder.prefetched) == {"app", "lib", "tomli", "speedups"}
    assert len(finder.prefetched) == 4
    assert "speedups-2.0-py3-none-any.whl" in finder.prefetched_metadata
    assert "unused" not in finder.prefetched


def test_reporter_sees_progress_and_missing_extras() -> None:
    finder = MemoryFinder(INDEX)
    reporter = RecordingReporter()
    resolve(user_requirements(["lib[fast,nope]"]), finder, make_target("linux"), reporter=reporter)
    assert reporter.events[0] == "started Resolving dependencies"
    assert reporter.events[-1] == "finished 7"
    assert "advanced 7" in reporter.events
    assert "warning lib 1.0 does not provide the extra 'nope'" in reporter.events


def test_reporter_finishes_on_failure() -> None:
    reporter = RecordingReporter()
    with pytest.raises(ResolutionError):
        resolve(
            user_requirements(["lib>=1", "lib<1"]),
            MemoryFinder(INDEX),
            make_target("linux"),
            reporter=reporter,
        )
    assert reporter.events[-1] == "finished 7"


def test_too_many_rounds_is_a_resolution_error() -> None:
    options = ResolveOptions(max_rounds=1)
    with pytest.raises(ResolutionError, match="gave up after 1 rounds"):
        resolve(user_requirements(["app"]), MemoryFinder(INDEX), make_target("linux"), options)


def test_constraint_with_extras_is_refused() -> None:
    options = ResolveOptions(constraints=tuple(user_requirements(["lib[fast]<2"], "c.txt")))
    with pytest.raises(RequirementError, match=r"constraint 'lib\[fast\]<2' \(c.txt:1\)"):
        resolve(user_requirements(["lib"]), MemoryFinder(INDEX), make_target("linux"), options)


def test_direct_url_package_fields() -> None:
    url = "https://example.test/tool-0.3-py3-none-any.whl"
    finder = MemoryFinder(INDEX, {url: {"name": "tool", "version": "0.3", "requires": ["lib"]}})
    requested = [UserRequirement(user_requirements([f"tool @ {url}"])[0].requirement, "cli")]
    pkgs = resolve(requested, finder, make_target("linux")).by_name()
    tool = pkgs[NormalizedName("tool")]
    assert tool.direct_url == url
    assert tool.chosen is not None and tool.chosen.url == url
    assert tool.files == (tool.chosen,)
    assert tool.dependencies == ("lib",)
    assert tool.requested_by == ("cli",)


def test_direct_url_with_the_wrong_name() -> None:
    url = "https://example.test/other-1.0.tar.gz"
    finder = MemoryFinder({}, {url: {"name": "other", "version": "1.0"}})
    with pytest.raises(RequirementError, match="named other, not tool"):
        resolve(user_requirements([f"tool @ {url}"]), finder, make_target("linux"))


def test_options_helpers() -> None:
    name = normalize("Pkg")
    assert ResolveOptions().file_policy(name) is FilePolicy.ANY
    assert ResolveOptions(no_binary=frozenset({ALL})).file_policy(name) is FilePolicy.NO_BINARY
    both = ResolveOptions(no_binary=frozenset({ALL}), only_binary=frozenset({name}))
    assert both.file_policy(name) is FilePolicy.ONLY_BINARY
    prefs = ((name, Version("1.0")), (normalize("b"), Version("2.0")))
    assert ResolveOptions(preferences=prefs).preferred() == dict(prefs)
    assert ResolveOptions(preferences=prefs, upgrade=True).preferred() == {}
    only_b = ResolveOptions(preferences=prefs, upgrade_packages=frozenset({name})).preferred()
    assert only_b == {"b": Version("2.0")}


def test_compact_versions() -> None:
    versions = [Version(f"1.{i}") for i in range(10)]
    assert compact_versions(versions) == "1.0, 1.1, 1.2 ... 1.7, 1.8, 1.9"
    assert compact_versions(reversed(versions[:3])) == "1.0, 1.1, 1.2"
    assert compact_versions([]) == ""


def test_direct_url_with_extras_and_a_directory() -> None:
    url = "file:///src/tool"
    finder = MemoryFinder(
        INDEX, {url: {"name": "tool", "version": "0.3", "requires": ["tomli; extra == 'toml'"]}}
    )
    requested = [
        UserRequirement(user_requirements([f"tool[toml] @ {url}"])[0].requirement, "-e", True),
        *user_requirements(["app"]),
    ]
    pkgs = resolve(requested, finder, make_target("linux", "3.12")).by_name()
    tool = pkgs[NormalizedName("tool")]
    assert (tool.chosen, tool.files, tool.direct_url) == (None, (), url)
    assert tool.extras == frozenset({"toml"})
    assert tool.editable
    assert tool.dependencies == ("tomli",)
    assert pkgs[NormalizedName("tomli")].requested_by == ("tool",)  # app's needs py<3.11


def test_prerelease_mode_setting_is_read() -> None:
    from cloche.config import PrereleaseMode, load_settings

    settings = load_settings(flags={}, project_table={"prerelease-mode": "if-necessary"})
    assert settings.prerelease_mode is PrereleaseMode.IF_NECESSARY
