"""``cloche pip compile --universal``: one file for every platform and Python, forks marked."""

from __future__ import annotations

from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement

from cloche.core.targets import target_for
from tests.support.cli import Result, cloche
from tests.support.index_server import IndexServer

PLATFORMS = ("linux", "linux-aarch64", "macos", "macos-x86_64", "windows")


def compile_universal(index: IndexServer, tmp_path: Path, lines: str, *flags: str) -> Result:
    (tmp_path / "requirements.in").write_text(lines)
    return cloche(
        "pip", "compile", "requirements.in", "--universal", "--no-annotate", "--no-header",
        "--index-url", index.url, *flags, cwd=tmp_path,
    )  # fmt: skip


def pins(text: str) -> dict[str, list[tuple[str, Marker | None]]]:
    out: dict[str, list[tuple[str, Marker | None]]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            req = Requirement(line)
            out.setdefault(req.name, []).append((str(req.specifier), req.marker))
    return out


def chosen_on(text: str, platform: str, python: str) -> dict[str, str]:
    """The pins a machine (platform, Python) would install from ``text``."""
    env = target_for(python, platform).markers
    got: dict[str, str] = {}
    for name, entries in pins(text).items():
        applying = [spec for spec, marker in entries if marker is None or marker.evaluate(env)]
        assert len(applying) <= 1, (name, platform, python, applying)
        if applying:
            got[name] = applying[0]
    return got


def test_fork_on_sys_platform(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.add_wheel("app", "1.0", requires=["dep<2; sys_platform == 'win32'", "dep"])
    index_server.add_wheel("dep", "1.0")
    index_server.add_wheel("dep", "2.0")
    result = compile_universal(index_server, tmp_path, "app\n", "--python-version", "3.12")
    assert result.code == 0, result
    assert "app==1.0\n" in result.out
    assert "dep==1.0 ; sys_platform == 'win32'" in result.out
    for platform in PLATFORMS:
        expected = "==1.0" if platform == "windows" else "==2.0"
        assert chosen_on(result.out, platform, "3.13")["dep"] == expected


def test_fork_on_python_version_with_the_lower_bound(
    index_server: IndexServer, tmp_path: Path
) -> None:
    index_server.add_wheel("numpy", "1.26.4", requires_python=">=3.9")
    index_server.add_wheel("numpy", "2.1.0", requires_python=">=3.10")
    index_server.add_wheel("lib", "1.0", requires=["tomli; python_version < '3.11'", "numpy"])
    index_server.add_wheel("tomli", "2.0.1")
    result = compile_universal(index_server, tmp_path, "lib\n", "--python-version", "3.9")
    assert result.code == 0, result
    out = result.out
    assert "numpy==1.26.4 ; python_version < '3.10'" in out
    assert "numpy==2.1.0 ; python_version >= '3.10'" in out
    assert "tomli==2.0.1 ; python_version < '3.11'" in out
    assert chosen_on(out, "windows", "3.9") == {
        "lib": "==1.0",
        "numpy": "==1.26.4",
        "tomli": "==2.0.1",
    }
    # A Python newer than any resolved for takes the newest one's pins.
    assert chosen_on(out, "macos", "3.20") == {"lib": "==1.0", "numpy": "==2.1.0"}


def test_a_conflict_on_one_platform_fails_naming_it(
    index_server: IndexServer, tmp_path: Path
) -> None:
    index_server.add_wheel("a", "1.0", requires=["x<2; sys_platform == 'win32'"])
    index_server.add_wheel("c", "1.0", requires=["x>=2"])
    index_server.add_wheel("x", "1.0")
    index_server.add_wheel("x", "2.0")
    (tmp_path / "requirements.in").write_text("a\nc\n")
    plain = cloche(
        "pip", "compile", "requirements.in", "--python-platform", "linux",
        "--python-version", "3.12", "--index-url", index_server.url, cwd=tmp_path,
    )  # fmt: skip
    assert plain.code == 0, plain  # fine on linux alone
    result = compile_universal(index_server, tmp_path, "a\nc\n", "--python-version", "3.12")
    assert result.code != 0
    assert "windows" in result.err and "x" in result.err


def test_extras_and_markers_inherited_through_the_graph(
    index_server: IndexServer, tmp_path: Path
) -> None:
    index_server.add_wheel(
        "app", "1.0", requires=["base"], extras={"gpu": ["cudalib; sys_platform == 'linux'"]}
    )
    index_server.add_wheel("base", "1.0")
    index_server.add_wheel("cudalib", "1.0", requires=["nvlib; platform_machine == 'x86_64'"])
    index_server.add_wheel("nvlib", "1.0")
    result = compile_universal(index_server, tmp_path, "app[gpu]\n", "--python-version", "3.12")
    assert result.code == 0, result
    got = pins(result.out)
    assert got["app"] == [("==1.0", None)] and got["base"] == [("==1.0", None)]
    assert chosen_on(result.out, "linux", "3.12") == {
        "app": "==1.0",
        "base": "==1.0",
        "cudalib": "==1.0",
        "nvlib": "==1.0",
    }
    assert "nvlib" not in chosen_on(result.out, "linux-aarch64", "3.12")
    assert "cudalib" in chosen_on(result.out, "linux-aarch64", "3.12")
    for platform in ("macos", "macos-x86_64", "windows"):
        assert set(chosen_on(result.out, platform, "3.14")) == {"app", "base"}


def test_universal_refuses_a_platform(index_server: IndexServer, tmp_path: Path) -> None:
    result = compile_universal(index_server, tmp_path, "app\n", "--python-platform", "linux")
    assert result.code == 2
    assert "--python-platform" in result.err
