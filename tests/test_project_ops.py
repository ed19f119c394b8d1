"""ops for projects, in process: the all-or-nothing commit and the env stamp."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.pylock import Pylock
from packaging.version import Version

from cloche.core.project.load import load_project
from cloche.errors import ClocheError
from cloche.ops.project.edit import Edit, commit
from cloche.ops.stamp import Inputs, Selection, check_stamp, write_stamp

PYPROJECT = '[project]\nname = "demo"\nversion = "0.1"\ndependencies = []\n'


def _edit(root: Path, text: str) -> Edit:
    lock = Pylock(lock_version=Version("1.0"), created_by="test", packages=[])
    return Edit(load_project(root), text, lock, "lock-version = '1.0'\n", None)


def test_commit_restores_pyproject_when_lock_write_fails(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    original = (tmp_path / "pyproject.toml").read_bytes()
    (tmp_path / "pylock.toml").mkdir()  # cannot be replaced by a file
    edit = _edit(tmp_path, PYPROJECT.replace("[]", '["numpy"]'))
    with pytest.raises(ClocheError):
        commit(tmp_path, edit)
    assert (tmp_path / "pyproject.toml").read_bytes() == original
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_stamp_matches_until_an_input_changes(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "pylock.toml").write_text("lock-version = '1.0'\n")
    site = tmp_path / ".venv" / "lib" / "site-packages"
    site.mkdir(parents=True)
    python = tmp_path / ".venv" / "python"
    python.write_text("")
    selection = Selection()
    assert check_stamp(tmp_path, selection, need_fresh=True) is None
    write_stamp(
        Inputs.read(tmp_path), selection, fresh=True, python=str(python), site_dirs=[str(site)]
    )
    sub = tmp_path / "src"
    sub.mkdir()
    found = check_stamp(sub, selection, need_fresh=True)
    assert found is not None and Path(found.root) == tmp_path.resolve()
    assert check_stamp(tmp_path, Selection(groups=("docs",)), need_fresh=True) is None
    (site / "newpkg.dist-info").mkdir()
    assert check_stamp(tmp_path, selection, need_fresh=True) is None


def test_stale_stamp_only_for_frozen(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "pylock.toml").write_text("lock-version = '1.0'\n")
    site = tmp_path / ".venv" / "site-packages"
    site.mkdir(parents=True)
    selection = Selection()
    write_stamp(
        Inputs.read(tmp_path), selection, fresh=False, python=str(site), site_dirs=[str(site)]
    )
    assert check_stamp(tmp_path, selection, need_fresh=True) is None
    assert check_stamp(tmp_path, selection, need_fresh=False) is not None


def test_stamp_values_behave_as_frozen_dataclasses() -> None:
    # Plain slotted classes (dataclasses costs the fast path its import): equal by
    # value, hashable, immutable, and they survive pickle and copy (the Ray plugin).
    import copy
    import pickle

    selection = Selection(groups=("docs",), all_extras=True)
    assert selection == Selection(groups=("docs",), all_extras=True) != Selection()
    assert hash(selection) == hash(Selection(groups=("docs",), all_extras=True))
    assert pickle.loads(pickle.dumps(selection)) == selection == copy.deepcopy(selection)
    with pytest.raises(AttributeError):
        selection.groups = ()
    inputs = Inputs("/p", b"[project]", None, b"3.11")
    assert pickle.loads(pickle.dumps(inputs)) == inputs
    assert "groups=('docs',)" in repr(selection)
