"""The top-level command: help, version, errors as one line."""

from __future__ import annotations

import subprocess
import sys

from cloche import __version__
from tests.support.cli import cloche


def test_version() -> None:
    result = cloche("--version")
    assert result.code == 0
    assert __version__ in result.out


def test_help_lists_commands() -> None:
    result = cloche("--help")
    assert result.code == 0
    for name in ("venv", "pip", "cache"):
        assert name in result.out
    pip_help = cloche("pip", "--help")
    commands = (
        "compile",
        "install",
        "uninstall",
        "sync",
        "list",
        "freeze",
        "show",
        "check",
        "tree",
    )
    for name in commands:
        assert name in pip_help.out
        assert cloche("pip", name, "--help").code == 0


def test_unknown_command_is_usage_error() -> None:
    result = cloche("frobnicate")
    assert result.code == 2
    assert "Traceback" not in result.err


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from cloche.cli.main import cli\n"
        "try:\n"
        "    cli.main(['--help'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('httpx', 'resolvelib', 'rich.progress') if m in sys.modules]\n"
        "print('HEAVY:' + ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY:"


def test_bad_index_url_is_one_line_usage_error(tmp_path) -> None:
    req = tmp_path / "requirements.in"
    req.write_text("six\n")
    result = cloche("pip", "compile", req, "--index-url", "ftp://example.invalid/simple")
    assert result.code == 2, result
    assert result.err.startswith("error: ")
    assert "Traceback" not in result.err
    assert "ftp://example.invalid/simple" in result.err
