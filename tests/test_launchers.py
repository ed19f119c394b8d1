"""Entry-point launchers and ``#!python`` rewriting, as pip and uv write them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cloche.adapters.install.launchers import (
    EntryPoint,
    launcher,
    make_executable,
    parse_entry_points,
    rewrite_shebang,
    shebang,
)
from cloche.core.headers import first, read_headers


def test_entry_points_of_both_sections_are_read_and_others_ignored() -> None:
    text = (
        "[console_scripts]\nfoo = pkg.cli:main\nBar=pkg:run [extra]\n\n"
        "[gui_scripts]\nfoo-gui = pkg.gui:App.start\n\n[pytest11]\nplug = pkg.plugin\n"
    )
    assert parse_entry_points(text) == [
        EntryPoint("foo", "pkg.cli", "main", "console"),
        EntryPoint("Bar", "pkg", "run", "console"),
        EntryPoint("foo-gui", "pkg.gui", "App.start", "gui"),
    ]


@pytest.mark.parametrize(
    "text", ["[console_scripts]\nfoo = pkg\n", "[console_scripts]\nfoo = a b:c\n", "x = y\n"]
)
def test_a_malformed_entry_points_file_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_entry_points(text)


def test_a_launcher_runs_its_function_with_the_interpreter_named(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(
        "class A:\n    @staticmethod\n    def go():\n        print('hi'); return 3\n"
    )
    name, content = launcher(EntryPoint("go-tool", "mod", "A.go", "console"), sys.executable)
    assert name == "go-tool"
    assert content.startswith(f"#!{sys.executable}\n".encode())
    script = tmp_path / name
    script.write_bytes(content)
    make_executable(script)
    proc = subprocess.run(
        [str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path)},
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (3, "hi\n")


def test_a_long_or_spaced_interpreter_path_goes_through_sh() -> None:
    assert shebang("/usr/bin/python3") == b"#!/usr/bin/python3"
    for python in ("/opt/my envs/bin/python", "/x" * 80 + "/python"):
        line = shebang(python)
        assert line.startswith(b"#!/bin/sh\n'''exec' ")
        assert line.endswith(b"' '''")


def test_only_a_hash_bang_python_line_is_rewritten() -> None:
    assert (
        rewrite_shebang(b"#!python\nprint(1)\n", "/e/bin/python") == b"#!/e/bin/python\nprint(1)\n"
    )
    assert rewrite_shebang(b"#!pythonw -u", "/e/bin/python") == b"#!/e/bin/python\n"
    assert rewrite_shebang(b"#!/bin/sh\necho\n", "/e/bin/python") == b"#!/bin/sh\necho\n"


def test_header_fields_stop_at_the_body_and_keep_repeats_in_order() -> None:
    fields = read_headers(
        "Metadata-Version: 2.1\nName: Foo\nRequires-Dist: a>=1\nSummary: x\n  folded\n"
        "Requires-Dist: b; extra == 'c'\n\nRequires-Dist: not-a-header\n"
    )
    assert first(fields, "name") == "Foo"
    assert fields["requires-dist"] == ["a>=1", "b; extra == 'c'"]
    assert fields["summary"] == ["x\n  folded"]
    assert first(fields, "Version") is None
