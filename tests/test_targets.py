from __future__ import annotations

import pytest
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.version import Version

from cloche.core.models import Target
from cloche.core.target_platforms import TARGET_NAMES
from cloche.core.targets import default_lock_targets, target_for
from cloche.errors import UsageError

MARKER_KEYS = {
    "os_name",
    "sys_platform",
    "platform_machine",
    "platform_system",
    "platform_release",
    "platform_version",
    "implementation_name",
    "implementation_version",
    "platform_python_implementation",
    "python_version",
    "python_full_version",
}


def platforms(target: Target) -> list[str]:
    return list(dict.fromkeys(t.platform for t in target.tags))


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_every_name_builds_a_complete_target(name: str) -> None:
    target = target_for("3.10", name)
    assert set(target.markers) == MARKER_KEYS
    assert target.tags[0].interpreter == "cp310"
    assert Tag("py3", "none", "any") in target.tags
    assert len(set(target.tags)) == len(target.tags)


def test_linux_is_x86_64_manylinux_with_legacy_aliases() -> None:
    target = target_for("3.10", "linux")
    plats = platforms(target)
    assert plats[0] == "manylinux_2_28_x86_64"
    assert plats.index("manylinux_2_17_x86_64") + 1 == plats.index("manylinux2014_x86_64")
    assert {"manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"} <= set(plats)
    assert not any("macosx" in p or "win" in p or "aarch64" in p for p in plats)
    assert target.tags[0] == Tag("cp310", "cp310", "manylinux_2_28_x86_64")
    assert Tag("cp38", "abi3", "manylinux2014_x86_64") in target.tags
    assert target.markers["sys_platform"] == "linux"
    assert target.markers["platform_machine"] == "x86_64"
    assert target.platform == "linux"


def test_triples_are_aliases() -> None:
    assert target_for("3.11", "x86_64-unknown-linux-gnu") == target_for("3.11", "linux")
    assert target_for("3.11", "x86_64-manylinux_2_28") == target_for("3.11", "linux")
    assert target_for("3.11", "aarch64-apple-darwin") == target_for("3.11", "macos")
    assert target_for("3.11", "x86_64-pc-windows-msvc") == target_for("3.11", "windows")
    assert target_for("3.11", "aarch64-manylinux_2_28") == target_for("3.11", "linux-aarch64")
    assert target_for("3.11", "x86_64-musllinux_1_2") == target_for("3.11", "musllinux")


def test_aarch64_has_only_the_2014_alias() -> None:
    plats = platforms(target_for("3.12", "linux-aarch64"))
    assert plats[0] == "manylinux_2_28_aarch64"
    assert "manylinux2014_aarch64" in plats
    assert "manylinux_2_16_aarch64" not in plats
    assert "linux_aarch64" in plats


def test_musllinux() -> None:
    target = target_for("3.12", "musllinux")
    assert platforms(target)[:4] == [
        "musllinux_1_2_x86_64",
        "musllinux_1_1_x86_64",
        "musllinux_1_0_x86_64",
        "linux_x86_64",
    ]


def test_macos_arm64_from_14_down_to_11_with_universal2() -> None:
    target = target_for("3.12", "macos")
    plats = platforms(target)
    assert plats[:2] == ["macosx_14_0_arm64", "macosx_14_0_universal2"]
    assert "macosx_11_0_arm64" in plats
    assert "macosx_10_15_arm64" not in plats
    assert "macosx_10_9_x86_64" not in plats
    assert target.markers["sys_platform"] == "darwin"
    assert target.markers["platform_machine"] == "arm64"


def test_macos_x86_64_reaches_old_macos() -> None:
    plats = platforms(target_for("3.9", "macos-x86_64"))
    assert plats[0] == "macosx_14_0_x86_64"
    assert "macosx_10_9_x86_64" in plats


def test_windows_markers_and_tags() -> None:
    target = target_for("3.10", "windows")
    assert platforms(target) == ["win_amd64", "any"]
    assert target.markers["os_name"] == "nt"
    assert target.markers["sys_platform"] == "win32"
    assert target.markers["platform_system"] == "Windows"
    assert Marker('sys_platform == "win32" and python_version < "3.11"').evaluate(target.markers)


def test_full_python_version_in_markers() -> None:
    target = target_for("3.10.4", "linux")
    assert target.python_version == Version("3.10.4")
    assert target.markers["python_version"] == "3.10"
    assert target.markers["python_full_version"] == "3.10.4"
    assert target.markers["implementation_version"] == "3.10.4"
    assert target_for("3.10", "linux").markers["python_full_version"] == "3.10.0"


@pytest.mark.parametrize("bad", ["3", "2.7", "3.x", "python3.10", ""])
def test_bad_python_version_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError, match="invalid Python version"):
        target_for(bad, "linux")


def test_unknown_platform_lists_valid_names() -> None:
    with pytest.raises(UsageError) as info:
        target_for("3.10", "beos")
    assert "unknown platform 'beos'" in str(info.value)
    assert "linux, " in str(info.value)
    assert "x86_64-pc-windows-msvc" in str(info.value)


def test_host_platform_with_another_python() -> None:
    host = target_for("3.11", "macos")
    swapped = target_for("3.9", None, host=host)
    assert swapped.python_version == Version("3.9.0")
    assert swapped.tags[0] == Tag("cp39", "cp39", "macosx_14_0_arm64")
    assert platforms(swapped) == platforms(host)
    assert not any(t.interpreter == "cp311" for t in swapped.tags)
    assert swapped.markers["python_version"] == "3.9"
    assert swapped.markers["sys_platform"] == "darwin"
    assert swapped.platform == host.platform


def test_platform_needed_without_host() -> None:
    with pytest.raises(UsageError):
        target_for("3.10", None)


def test_default_lock_targets_use_lowest_allowed_python() -> None:
    targets = default_lock_targets(SpecifierSet(">=3.10"))
    assert [t.platform for t in targets] == ["linux", "macos", "windows"]
    assert {str(t.python_version) for t in targets} == {"3.10.0"}
    assert default_lock_targets(SpecifierSet(""))[0].python_version == Version("3.8.0")
    assert default_lock_targets(SpecifierSet(">=3.10.4"))[0].python_version == Version("3.10.4")
    assert default_lock_targets(SpecifierSet("~=3.12"))[0].markers["python_version"] == "3.12"


def test_default_lock_targets_rejects_impossible_range() -> None:
    with pytest.raises(UsageError, match="allows no Python"):
        default_lock_targets(SpecifierSet("<3"))


@pytest.mark.parametrize(
    ("name", "first_tag", "label"),
    [
        ("manylinux2014", "manylinux_2_17_x86_64", "linux"),
        ("manylinux_2_17", "manylinux_2_17_x86_64", "linux"),
        ("x86_64-manylinux_2_39", "manylinux_2_39_x86_64", "linux"),
        ("aarch64-manylinux_2_17", "manylinux_2_17_aarch64", "linux-aarch64"),
        ("manylinux_2_31_aarch64", "manylinux_2_31_aarch64", "linux-aarch64"),
        ("musllinux_1_1", "musllinux_1_1_x86_64", "musllinux"),
        ("aarch64-unknown-linux-musl", "musllinux_1_2_aarch64", "musllinux-aarch64"),
        ("macosx_11_0_arm64", "macosx_11_0_arm64", "macos"),
        ("macosx_10_15_x86_64", "macosx_10_15_x86_64", "macos-x86_64"),
        ("aarch64-pc-windows-msvc", "win_arm64", "windows-arm64"),
        ("windows-arm64", "win_arm64", "windows-arm64"),
    ],
)
def test_every_platform_spelling(name: str, first_tag: str, label: str) -> None:
    target = target_for("3.11", name)
    assert target.tags[0].platform == first_tag
    assert target.platform == label


def test_old_glibc_excludes_newer_wheels() -> None:
    platforms = {t.platform for t in target_for("3.11", "manylinux_2_17").tags}
    assert "manylinux_2_17_x86_64" in platforms and "manylinux_2_28_x86_64" not in platforms


@pytest.mark.parametrize("name", ["manylinux_2_3", "aarch64-manylinux_2_17_x86_64", "solaris"])
def test_unknown_platform_spelling(name: str) -> None:
    with pytest.raises(UsageError, match="unknown platform"):
        target_for("3.11", name)
