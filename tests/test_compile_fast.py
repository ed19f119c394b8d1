"""``cloche pip compile`` answered without click: the same request, settings, output and
errors as the click command, or no answer."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from cloche.cli import compile_fast
from cloche.cli.context import AppContext
from cloche.cli.main import run_click
from tests.support.cli import cloche, cloche_imports
from tests.support.index_server import IndexServer

ANSWERED = [
    ["pip", "compile", "requirements.in"],
    ["pip", "compile", "a.in", "b.in", "-o", "out.txt"],
    ["pip", "compile", "requirements.in", "--output-file", "out.txt"],
    ["pip", "compile", "requirements.in", "--output-file=out.txt"],
    ["pip", "compile", "-", "-o", "-"],
    ["pip", "compile", "requirements.in", "-c", "c1.txt", "--constraint", "c2.txt"],
    ["pip", "compile", "requirements.in", "--constraint=c1.txt", "-c", "c2.txt"],
    ["pip", "compile", "requirements.in", "--generate-hashes"],
    ["pip", "compile", "requirements.in", "--python-version", "3.10"],
    ["pip", "compile", "requirements.in", "--python-version=3.12", "--python-platform=linux"],
    ["pip", "compile", "requirements.in", "--python-platform", "windows"],
    ["pip", "compile", "requirements.in", "-p", "3.11"],
    ["pip", "compile", "requirements.in", "--python", "/usr/bin/python3"],
    ["pip", "compile", "requirements.in", "--python=3.11"],
    ["pip", "compile", "requirements.in", "-U"],
    ["pip", "compile", "requirements.in", "--upgrade", "-o", "out.txt"],
    ["pip", "compile", "requirements.in", "-P", "NumPy", "--upgrade-package", "six"],
    ["pip", "compile", "requirements.in", "--upgrade-package=Foo_Bar"],
    ["pip", "compile", "requirements.in", "--pre"],
    ["pip", "compile", "requirements.in", "--universal", "--python-version", "3.10"],
    ["pip", "compile", "requirements.in", "--prerelease", "if-necessary-or-explicit"],
    ["pip", "compile", "requirements.in", "--prerelease=allow", "--pre"],
    ["pip", "compile", "requirements.in", "--no-annotate", "--no-header"],
    ["pip", "compile", "requirements.in", "-q"],
    ["pip", "compile", "-q", "-q", "requirements.in"],
    ["pip", "compile", "-qq", "requirements.in", "--quiet"],
    ["-q", "pip", "compile", "requirements.in", "-q"],
    ["--offline", "pip", "compile", "requirements.in", "-o", "out.txt"],
    ["--cache-dir", "cache", "pip", "compile", "requirements.in"],
    ["--cache-dir=cache", "--offline", "-qq", "pip", "compile", "requirements.in"],
    ["--no-progress", "pip", "compile", "requirements.in"],
    [
        "pip",
        "compile",
        "-o",
        "x.txt",
        "requirements.in",
        "-o",
        "out.txt",
        "--python-version",
        "3.9",
    ],
]

DECLINED = [
    [],
    ["pip", "compile"],  # no source file
    ["pip", "compile", "-q"],
    ["pip", "install", "x"],
    ["pip", "-q", "compile", "requirements.in"],
    ["compile", "requirements.in"],
    ["pip", "compile", "requirements.in", "--index-url", "http://x/simple"],
    ["pip", "compile", "requirements.in", "-i", "http://x/simple"],
    ["pip", "compile", "requirements.in", "--extra-index-url=http://x/simple"],
    ["pip", "compile", "requirements.in", "-f", "wheels"],
    ["pip", "compile", "requirements.in", "--no-index"],
    ["pip", "compile", "requirements.in", "--index-strategy", "first-index"],
    ["pip", "compile", "requirements.in", "--refresh"],
    ["pip", "compile", "requirements.in", "--only-binary", ":all:"],
    ["pip", "compile", "requirements.in", "--no-binary=numpy"],
    ["pip", "compile", "requirements.in", "--no-build-isolation"],
    ["pip", "compile", "requirements.in", "-C", "a=b"],
    ["pip", "compile", "--help"],
    ["pip", "compile", "requirements.in", "-h"],
    ["--help", "pip", "compile", "requirements.in"],
    ["-V"],
    ["-v", "pip", "compile", "requirements.in"],
    ["pip", "compile", "requirements.in", "-v"],
    ["pip", "compile", "requirements.in", "-qv"],
    ["pip", "compile", "requirements.in", "--no-cache"],
    ["--no-cache", "pip", "compile", "requirements.in"],
    ["--http-timeout", "5", "pip", "compile", "requirements.in"],
    ["pip", "compile", "requirements.in", "--timeout", "5"],
    ["pip", "compile", "requirements.in", "--unknown"],
    ["pip", "compile", "requirements.in", "--"],
    ["pip", "compile", "--", "requirements.in"],
    ["pip", "compile", "requirements.in", "-o"],  # missing values
    ["pip", "compile", "requirements.in", "-c"],
    ["pip", "compile", "requirements.in", "--python-version"],
    ["pip", "compile", "requirements.in", "--prerelease"],
    ["pip", "compile", "requirements.in", "-P"],
    ["pip", "compile", "requirements.in", "--output-file="],
    ["pip", "compile", "requirements.in", "-o", "--generate-hashes"],
    ["pip", "compile", "requirements.in", "--prerelease", "sometimes"],
    ["pip", "compile", "requirements.in", "--prerelease=Allow"],
    ["pip", "compile", "requirements.in", "-oout.txt"],  # short forms with the value attached
    ["pip", "compile", "requirements.in", "-o=out.txt"],
    ["pip", "compile", "requirements.in", "-qU"],
    ["pip", "compile", "requirements.in", "--pre=yes"],
    ["pip", "compile", "requirements.in", "--generate-hashes=1"],
    ["pip", "compile", "requirements.in", "--output"],  # click takes no abbreviations
    ["pip", "compile", ""],
    ["--cache-dir", "pip", "compile", "requirements.in"],
]


@pytest.mark.parametrize("args", DECLINED)
def test_other_command_lines_are_left_to_click(args: list[str]) -> None:
    assert compile_fast.parse(args) is None


def test_a_cache_dir_that_is_a_file_is_left_to_click(tmp_path: Path) -> None:
    (tmp_path / "cache").write_text("")
    args = ["--cache-dir", str(tmp_path / "cache"), "pip", "compile", "requirements.in"]
    assert compile_fast.parse(args) is None


def test_shell_completion_is_left_to_click(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_CLOCHE_COMPLETE", "bash_complete")
    assert compile_fast.parse(["pip", "compile", "requirements.in"]) is None


class _Captured:
    """What the compile step was given, instead of compiling."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, Any]] = []

    def __call__(self, services: Any, request: Any) -> SimpleNamespace:
        self.calls.append((services.settings, request))
        return SimpleNamespace(text="pins==1.0\n", pin_count=1)


@pytest.mark.parametrize("args", ANSWERED)
def test_the_fast_path_makes_what_the_click_command_makes(
    args: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    captured = _Captured()
    monkeypatch.setattr("cloche.ops.compile.compile_requirements", captured)

    assert run_click(args, AppContext()) == 0
    by_click = capsys.readouterr()
    request = compile_fast.parse(args)
    assert request is not None
    assert compile_fast.run(request) == 0
    by_fast = capsys.readouterr()

    (click_settings, click_request), (fast_settings, fast_request) = captured.calls
    assert fast_request == click_request
    assert list(fast_request.explicit_flags) == list(click_request.explicit_flags)
    assert fast_settings == click_settings
    assert (by_fast.out, by_fast.err) == (by_click.out, by_click.err)


def test_global_options_reach_the_context(tmp_path: Path) -> None:
    args = ["-q", "--offline", "--no-progress", "--cache-dir", str(tmp_path)]
    request = compile_fast.parse([*args, "pip", "compile", "r.in", "-qq"])
    assert request is not None
    assert (request.quiet, request.offline, request.no_progress) == (3, True, True)
    assert request.cache_dir == str(tmp_path)


@pytest.fixture
def primed(index_server: IndexServer, tmp_path: Path) -> tuple[IndexServer, Path]:
    """A project whose index pages and wheels' metadata are in the cache."""
    index_server.add_wheel("alpha", "1.0", requires=["beta>=1"])
    index_server.add_wheel("beta", "1.0")
    index_server.add_wheel("beta", "2.0")
    (tmp_path / "requirements.in").write_text("alpha\n")
    args = ("requirements.in", "--index-url", index_server.url, "-o", "primed.txt")
    warm = cloche("pip", "compile", *args, "--python-version", "3.11", cwd=tmp_path)
    assert warm.code == 0, warm
    return index_server, tmp_path


def test_an_offline_compile_without_click_writes_what_click_writes(
    primed: tuple[IndexServer, Path],
) -> None:
    index, project = primed
    common = ("requirements.in", "--python-version", "3.11", "--generate-hashes")
    env = {"CLOCHE_INDEX_URL": index.url}

    fast, imported = cloche_imports(
        "--offline", "pip", "compile", *common, "-o", "fast.txt", cwd=project, env=env
    )
    # --index-url, even naming the same index, is an option only click reads.
    slow, imported_by_click = cloche_imports(
        "--offline",
        "pip",
        "compile",
        *common,
        "-o",
        "click.txt",
        "--index-url",
        index.url,
        cwd=project,
    )

    assert (fast.code, fast.out) == (slow.code, slow.out) == (0, ""), (fast, slow)
    assert (
        fast.err
        == slow.err.replace("click.txt", "fast.txt")
        == "Resolved 2 packages into fast.txt\n"
    )
    assert "click" in imported_by_click
    assert "click" not in imported
    assert "cloche.cli.compile_fast" in imported
    written = (project / "fast.txt").read_text()
    assert "beta==2.0" in written and "--hash=sha256:" in written
    assert written == (project / "click.txt").read_text().replace("click.txt", "fast.txt")


def test_the_fast_path_prints_the_pins_as_click_does(primed: tuple[IndexServer, Path]) -> None:
    index, project = primed
    env = {"CLOCHE_INDEX_URL": index.url}
    args = ("--offline", "pip", "compile", "requirements.in", "--python-version", "3.11")

    fast, imported = cloche_imports(*args, cwd=project, env=env)
    slow = cloche(*args, "--index-url", index.url, cwd=project)

    assert "click" not in imported
    assert fast == slow
    assert "alpha==1.0" in fast.out


@pytest.mark.parametrize(
    "args",
    [
        ("missing.in",),
        ("requirements.in", "-o", "requirements.in"),
        ("requirements.in", "-o", "./requirements.in", "-q"),
        ("requirements.in", "-c", "missing-constraints.txt"),
    ],
)
def test_errors_read_as_through_click(primed: tuple[IndexServer, Path], args: tuple[str]) -> None:
    index, project = primed
    env = {"CLOCHE_INDEX_URL": index.url}
    before = (project / "requirements.in").read_text()

    fast, imported = cloche_imports("--offline", "pip", "compile", *args, cwd=project, env=env)
    slow = cloche("--offline", "pip", "compile", *args, "--index-url", index.url, cwd=project)

    assert "click" not in imported
    assert fast.code != 0
    assert fast == slow
    assert fast.err.startswith("error: ")
    assert (project / "requirements.in").read_text() == before


def test_an_unreadable_source_is_left_to_click(tmp_path: Path) -> None:
    source = tmp_path / "secret.in"
    source.write_text("alpha\n")
    source.chmod(0)
    try:
        if os.access(source, os.R_OK):
            pytest.skip("this user reads every file")
        assert compile_fast.parse(["pip", "compile", str(source)]) is None
    finally:
        source.chmod(0o600)


def _raising(error: BaseException) -> Any:
    def compile_requirements(_services: Any, _request: Any) -> Any:
        raise error

    return compile_requirements


@pytest.mark.parametrize("error", [KeyboardInterrupt(), EOFError()])
def test_ctrl_c_reads_as_through_click(
    error: BaseException,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("cloche.ops.compile.compile_requirements", _raising(error))
    args = ["pip", "compile", "requirements.in"]

    by_click = run_click(args, AppContext()), capsys.readouterr()
    request = compile_fast.parse(args)
    assert request is not None
    by_fast = compile_fast.run(request), capsys.readouterr()

    assert by_fast == by_click
    assert by_fast[0] == 130 and by_fast[1].err == "\naborted\n"


def test_sigterm_reads_as_through_click(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cloche.cli.signals import Terminated

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("cloche.ops.compile.compile_requirements", _raising(Terminated(15)))
    args = ["pip", "compile", "requirements.in"]

    with pytest.raises(Terminated):
        run_click(args, AppContext())
    by_click = capsys.readouterr()
    request = compile_fast.parse(args)
    assert request is not None
    with pytest.raises(Terminated):
        compile_fast.run(request)

    assert capsys.readouterr() == by_click


def test_a_closed_pipe_exits_as_through_click(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno
    import sys

    monkeypatch.chdir(tmp_path)
    # Both leave stdout and stderr wrapped: put the test's own back afterwards.
    monkeypatch.setattr(sys, "stdout", sys.stdout)
    monkeypatch.setattr(sys, "stderr", sys.stderr)
    monkeypatch.setattr(
        "cloche.ops.compile.compile_requirements",
        _raising(BrokenPipeError(errno.EPIPE, "Broken pipe")),
    )
    args = ["pip", "compile", "requirements.in"]

    with pytest.raises(SystemExit) as by_click:
        run_click(args, AppContext())
    request = compile_fast.parse(args)
    assert request is not None
    with pytest.raises(SystemExit) as by_fast:
        compile_fast.run(request)

    assert by_fast.value.code == by_click.value.code == 1
    assert sys.stdout.flush() is None  # the wrapper's flush, which a closed pipe cannot fail
