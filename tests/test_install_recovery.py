"""Recovery from the on-disk journal, in process: an install "killed" at a chosen point
(its in-memory rollback skipped, as kill -9 skips it) is put back by the next reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloche.adapters.install import EnvLayout, InstallRequest, install, installed_distributions
from cloche.adapters.install.journal import Journal
from cloche.adapters.store import Store
from cloche.core import notices
from cloche.core.report import NullReporter
from tests.test_install import demo, make_env, run, snapshot


@pytest.fixture
def env(tmp_path: Path) -> EnvLayout:
    return make_env(tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


class Killed(BaseException):
    """Stands for the process dying: no rollback runs."""


class KillAfter(NullReporter):
    def __init__(self, chunks: int) -> None:
        self.chunks = chunks

    def advanced(self, task_id: int, amount: int = 1) -> None:
        self.chunks -= 1
        if self.chunks == 0:
            raise Killed


def env_files(env: EnvLayout) -> dict[str, object]:
    """The env's files but the lock file, which recovery creates when it takes the lock."""
    return {k: v for k, v in snapshot(env.data).items() if not k.endswith(".cloche-install.lock")}


@pytest.fixture
def said(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    lines: list[str] = []
    notices.listen(lines.append)
    monkeypatch.setattr(Journal, "rollback", lambda self: None)
    return lines


@pytest.mark.parametrize("chunks", [1, 2, 3])
def test_a_killed_upgrade_is_rolled_back_by_the_next_listing(
    env: EnvLayout, store: Store, tmp_path: Path, said: list[str], chunks: int
) -> None:
    install(env, [InstallRequest(demo(store, tmp_path, "1.0"), requested=True)], [])
    [old] = installed_distributions(env)
    # A file of nobody's, in the new version's way: an install that died before
    # reaching it must leave it, one that moved it aside must put it back.
    (env.purelib / "demo" / "gen").mkdir()
    (env.purelib / "demo" / "gen" / "m1999.py").write_text("mine")
    files = {f"demo/gen/m{i}.py": "" for i in range(2000)}
    new = demo(store, tmp_path, "2.0", **files)
    before = env_files(env)
    with pytest.raises(Killed):
        install(env, [InstallRequest(new)], [old], reporter=KillAfter(chunks))
    assert (env.purelib.parent / ".cloche-journal").exists()
    assert said == []
    [dist] = installed_distributions(env)
    assert str(dist) == "demo 1.0"
    assert len(said) == 1 and "back as it was before" in said[0]
    assert env_files(env) == before
    assert not list(env.purelib.parent.glob(".cloche-*journal*"))
    assert not list(env.purelib.parent.glob(".cloche-backup-*"))
    assert run(env.python_executable, "-c", "import demo.sub.mod as m; print(m.VALUE)") == "1.0\n"


def test_a_recovery_killed_half_way_finishes_the_next_time(
    env: EnvLayout, store: Store, tmp_path: Path, said: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloche.adapters.install import recovery

    install(env, [InstallRequest(demo(store, tmp_path, "1.0"))], [])
    [old] = installed_distributions(env)
    before = env_files(env)
    with pytest.raises(Killed):
        install(env, [InstallRequest(demo(store, tmp_path, "2.0"))], [old], reporter=KillAfter(1))
    real_merge = recovery._merge
    calls = []

    def dies_on_the_second(source: Path, target: Path) -> int:
        calls.append(source)
        if len(calls) == 2:
            raise Killed
        return real_merge(source, target)

    monkeypatch.setattr(recovery, "_merge", dies_on_the_second)
    with pytest.raises(Killed):
        installed_distributions(env)
    assert (env.purelib.parent / ".cloche-journal-restoring").exists()
    monkeypatch.setattr(recovery, "_merge", real_merge)
    [dist] = installed_distributions(env)
    assert str(dist) == "demo 1.0"
    assert env_files(env) == before
