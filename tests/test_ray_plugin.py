"""The Ray plugin on a real local cluster: a head and two worker nodes on 127.0.0.1.

The nodes load the plugin through RAY_RUNTIME_ENV_PLUGINS and share one cloche
cache; packages come from the local test index.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import cloche
from tests.support.index_server import IndexServer
from tests.support.locks import write_project

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.ray

NODES = ("head", "node1", "node2")


@dataclass
class LocalCluster:
    address: str
    index: IndexServer
    env_root: Path
    cache: Path
    logs: Path
    work: Path

    def made_lines(self) -> int:
        """How many times a node made an env (not found it), from Ray's setup logs."""
        return sum(
            path.read_text(errors="replace").count("cloche: made ")
            for path in self.logs.glob("runtime_env*.log")
        )


@contextmanager
def _node_environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables for the node processes started inside, then put them back."""
    before = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    from ray.cluster_utils import Cluster

    from cloche.cli.ray_cmd import PLUGIN_CLASS

    work = tmp_path_factory.mktemp("ray")
    index = IndexServer(work / "index")
    index.add_wheel("alpha", "1.0", requires=["beta"])
    index.add_wheel("alpha", "2.0", requires=["beta"])
    index.add_wheel("beta", "1.5")
    index.add_wheel("gone", "1.0")
    env_root, cache = work / "envs", work / "shared-cache"
    nodes_env = {
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # 127.0.0.1, not this machine's address
        "RAY_RUNTIME_ENV_PLUGINS": json.dumps([{"class": PLUGIN_CLASS}]),
        "CLOCHE_RAY_ENV_DIR": str(env_root),
        "CLOCHE_CACHE_DIR": str(work / "node-default-cache"),
        "CLOCHE_HTTP_RETRIES": "0",
        "XDG_CONFIG_HOME": str(work / "config"),
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    # Ray read RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER when imported: this process (head and
    # driver) is told directly; the nodes' processes read the variable.
    patch = pytest.MonkeyPatch()
    patch.setattr(ray._private.ray_constants, "ENABLE_RAY_CLUSTER", False)
    with _node_environment(nodes_env):
        made = Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": 1, "resources": {"head": 1}, "include_dashboard": False},
        )
        try:
            for name in NODES[1:]:
                made.add_node(num_cpus=1, resources={name: 1})
            made.wait_for_nodes()
        except BaseException:
            made.shutdown()
            patch.undo()
            raise
    assert made.address.startswith("127.0.0.1:"), made.address
    logs = Path(made.head_node.get_session_dir_path()) / "logs"
    try:
        yield LocalCluster(made.address, index, env_root, cache, logs, work)
    finally:
        made.shutdown()
        patch.undo()
        index.close()


@contextmanager
def job(
    cluster: LocalCluster, runtime_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """One driver connection (a Ray job); its runtime_env goes through cloche's hook."""
    monkeypatch.setenv("RAY_RUNTIME_ENV_HOOK", "cloche.integrations.ray_plugin.resolve_runtime_env")
    # ray.init sets PYTHONBREAKPOINT: recorded here so that the test's end puts it back.
    monkeypatch.setenv("PYTHONBREAKPOINT", os.environ.get("PYTHONBREAKPOINT", ""))
    ray.init(address=cluster.address, runtime_env=runtime_env, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


@ray.remote(num_cpus=0)
def where() -> dict[str, str]:
    import importlib.metadata
    import sys

    import ray as worker_ray

    return {
        "prefix": sys.prefix,
        "executable": sys.executable,
        "alpha": importlib.metadata.version("alpha"),
        "node": worker_ray.get_runtime_context().get_node_id(),
    }


def _on_every_node() -> list[dict[str, str]]:
    refs = [where.options(resources={name: 0.01}).remote() for name in NODES]
    return list(ray.get(refs, timeout=90))


def _lock(cluster: LocalCluster, name: str, deps: list[str]) -> Path:
    return write_project(cluster.work / name, cluster.index, deps)


def _envs(cluster: LocalCluster) -> list[str]:
    return sorted(p.name for p in cluster.env_root.iterdir() if not p.name.startswith("."))


def test_jobs_run_in_the_locked_env_on_every_node(
    cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = _lock(cluster, "one", ["alpha==1.0"])
    field = {"cloche": {"lock": str(lock), "cache": str(cluster.cache)}}
    with job(cluster, field, monkeypatch):
        found = _on_every_node()
    assert len({f["node"] for f in found}) == 3
    envs = _envs(cluster)
    assert len(envs) == 1
    env = cluster.env_root / envs[0]
    for seen in found:
        assert seen["prefix"] == str(env)
        assert seen["executable"] == str(env / "bin" / "python")
        assert seen["alpha"] == "1.0"  # the locked version, from the env cloche made
    assert (cluster.cache / "wheels-v1").is_dir()  # the shared cache was the store
    made = cluster.made_lines()
    assert made == 1  # three nodes, one machine: the first made it, the others found it
    mark = (env / ".cloche-env.json").stat()

    with job(cluster, field, monkeypatch):  # a second job: Ray's URI cache and the env
        again = _on_every_node()
    assert [f["prefix"] for f in again] == [str(env)] * 3
    assert cluster.made_lines() == made
    assert (env / ".cloche-env.json").stat().st_ino == mark.st_ino
    assert _envs(cluster) == envs

    changed = _lock(cluster, "two", ["alpha==2.0"])
    with job(cluster, {"cloche": {"project": str(changed.parent)}}, monkeypatch):
        other = _on_every_node()
    assert {f["alpha"] for f in other} == {"2.0"}
    assert len(_envs(cluster)) == 2 and other[0]["prefix"] != str(env)
    assert cluster.made_lines() == made + 1


def test_a_bad_field_fails_on_the_driver(
    cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloche.integrations.ray_field import RayFieldError

    monkeypatch.chdir(cluster.work)
    for field, message in [
        ("pylock.toml", "must be a dict"),
        ({"lock": "missing.toml"}, "missing.toml does not exist on the driver"),
    ]:
        with (
            pytest.raises(RayFieldError, match=message),
            job(cluster, {"cloche": field}, monkeypatch),
        ):
            pass
        assert not ray.is_initialized()


def test_node_errors_name_the_node_and_the_cause(
    cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ray.exceptions import RuntimeEnvSetupError

    with job(cluster, {}, monkeypatch):
        # A path that skipped the driver's hook (a task's own runtime_env).
        unresolved = where.options(runtime_env={"cloche": {"lock": "pylock.toml"}})
        with pytest.raises(RuntimeEnvSetupError, match="RAY_RUNTIME_ENV_HOOK"):
            ray.get(unresolved.remote(), timeout=60)
        # The index lost a locked file: the task fails with the node and the file.
        from cloche.integrations.ray_plugin import locked_runtime_env

        lock = _lock(cluster, "lost", ["gone"])
        env = locked_runtime_env(lock, cache=str(cluster.work / "cold-cache"))
        shutil.rmtree(cluster.work / "cold-cache", ignore_errors=True)
        cluster.index.status_overrides["/files/gone-1.0-py3-none-any.whl"] = 404
        with pytest.raises(RuntimeEnvSetupError) as caught:
            ray.get(where.options(runtime_env=env).remote(), timeout=60)
    text = str(caught.value)
    assert "cloche could not make the env" in text and "on node" in text
    assert "gone-1.0-py3-none-any.whl is gone (HTTP 404" in text


def test_plugin_env_names_the_plugin_class() -> None:
    result = cloche("ray", "plugin-env")
    assert result.code == 0, result
    (entry,) = json.loads(result.out)
    module, _, name = entry["class"].rpartition(".")
    plugin = getattr(__import__(module, fromlist=[name]), name)
    assert plugin.name == "cloche"
    exported = cloche("ray", "plugin-env", "--export").out
    assert "RAY_RUNTIME_ENV_HOOK=cloche.integrations.ray_plugin.resolve_runtime_env" in exported
