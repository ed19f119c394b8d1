"""No silent harm: pip's habitual flags work, a compile never overwrites its input,
a huge "requirements file" is refused, and a distributor-managed Python is left alone."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from cloche.cli.context import AppContext
from cloche.cli.env_target import externally_managed, refuse_externally_managed
from cloche.core.models import Interpreter
from cloche.core.requirements.file import MAX_FILE_SIZE, parse_requirements_file
from cloche.errors import RequirementError, UsageError
from tests.support.cli import cloche, installed
from tests.support.index_server import IndexServer


def test_dockerfile_habit_flags_are_accepted(tmp_path: Path, index_server: IndexServer) -> None:
    index_server.add_wheel("alpha", "1.0")
    venv = tmp_path / "venv"
    assert cloche("venv", venv).code == 0
    result = cloche(
        "pip", "install", "--python", venv, "-i", index_server.url,
        "--root-user-action", "ignore", "--progress-bar", "off", "--no-input",
        "--timeout", "60", "--retries", "2", "--no-compile", "--use-pep517",
        "--trusted-host", "127.0.0.1", "--break-system-packages",
        "--disable-pip-version-check", "alpha",
    )  # fmt: skip
    assert result.code == 0, result
    assert installed(venv) == {"alpha": "1.0"}


def test_compile_refuses_to_overwrite_its_input(tmp_path: Path) -> None:
    source = tmp_path / "x.in"
    source.write_text("alpha\n")
    result = cloche("pip", "compile", "x.in", "-o", str(tmp_path / "x.in"), cwd=tmp_path)
    assert result.code == 2, result
    assert "--output-file" in result.err and "is also an input file" in result.err
    assert "-o " in result.err and "x.txt" in result.err
    assert source.read_text() == "alpha\n"


def test_a_requirements_file_is_read_with_a_size_limit(tmp_path: Path) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as fh:
        fh.truncate(MAX_FILE_SIZE + 1)  # sparse: costs no disk
    with pytest.raises(RequirementError, match="is larger than 16 MB"):
        parse_requirements_file(huge)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_requirements_from_dev_zero_is_one_line(tmp_path: Path) -> None:
    result = cloche("pip", "install", "--target", tmp_path / "t", "-r", "/dev/zero")
    assert result.code == 2, result
    assert "/dev/zero is larger than 16 MB" in result.err


def _system_python(base: Path) -> Interpreter:
    from cloche.adapters.python.discovery import find_interpreter

    probed = find_interpreter(sys.executable, cache_dir=base / "cache")
    return dataclasses.replace(probed, prefix=str(base), base_prefix=str(base))


def test_externally_managed_system_python_is_refused(tmp_path: Path) -> None:
    interpreter = _system_python(tmp_path)
    assert externally_managed(interpreter) is None
    refuse_externally_managed(AppContext(), interpreter)
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    marker = tmp_path / "lib" / f"python{version}" / "EXTERNALLY-MANAGED"
    marker.parent.mkdir(parents=True)
    marker.write_text("[externally-managed]\nError=use apt\n")
    assert externally_managed(interpreter) == marker
    with pytest.raises(UsageError) as info:
        refuse_externally_managed(AppContext(), interpreter)
    assert str(marker) in str(info.value) and "--break-system-packages" in (info.value.hint or "")
    refuse_externally_managed(AppContext(break_system_packages=True), interpreter)
    # A virtual environment is never externally managed.
    venv = dataclasses.replace(interpreter, prefix=str(tmp_path / "venv"))
    assert externally_managed(venv) is None
