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


@contextmanager
def _served(folder: Path) -> Iterator[str]:
    """``folder`` over HTTP on 127.0.0.1 (a bundle on a web server or object store)."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _bundled(cluster: LocalCluster, index: IndexServer, name: str, deps: list[str]) -> Path:
    """A project locked on ``index`` and its ``cloche bundle``."""
    lock = write_project(cluster.work / name, index, deps)
    out = cluster.work / f"{name}-bundle"
    made = cloche("bundle", "-o", out, cwd=lock.parent)
    assert made.code == 0, made
    return out


def _fails_with(cluster: LocalCluster, env: dict[str, Any]) -> str:
    from ray.exceptions import RuntimeEnvSetupError

    with pytest.raises(RuntimeEnvSetupError) as caught:
        ray.get(where.options(runtime_env=env).remote(), timeout=60)
    return str(caught.value)


def test_a_bundle_makes_the_env_with_the_index_closed(
    cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloche.integrations.ray_plugin import locked_runtime_env

    index = IndexServer(cluster.work / "private-index")
    index.add_wheel("alpha", "1.0", requires=["beta"])
    index.add_wheel("alpha", "2.0", requires=["beta"])
    index.add_wheel("beta", "1.5")
    on_disk = _bundled(cluster, index, "bundled", ["alpha==1.0"])
    served = _bundled(cluster, index, "served", ["alpha==2.0"])
    broken = cluster.work / "broken-bundle"
    shutil.copytree(on_disk, broken)
    (broken / "wheels" / "beta-1.5-py3-none-any.whl").unlink()
    index.close()  # from here on its port is closed: nothing may come from the index

    def cold(name: str) -> str:
        return str(cluster.work / "bundle-caches" / name)  # nothing in it yet

    with job(cluster, {}, monkeypatch):
        missing = _fails_with(cluster, locked_runtime_env(bundle=broken, cache=cold("a")))
        assert "cloche could not make the env" in missing and "on node" in missing
        assert "beta-1.5-py3-none-any.whl does not exist" in missing
        unreachable = locked_runtime_env(on_disk / "pylock.toml", cache=cold("b"))
        text = _fails_with(cluster, unreachable)
        assert "on node" in text and "cannot reach 127.0.0.1" in text, text
        assert "alpha-1.0-py3-none-any.whl" in text or "beta-1.5-py3-none-any.whl" in text

    with job(cluster, {"cloche": {"bundle": str(on_disk), "cache": cold("c")}}, monkeypatch):
        found = _on_every_node()
    assert {f["alpha"] for f in found} == {"1.0"}
    assert len({f["prefix"] for f in found}) == 1

    field = {"cloche": {"bundle": "", "cache": cold("d")}}
    with (
        _served(served) as url,
        job(cluster, {**field, "cloche": {**field["cloche"], "bundle": url}}, monkeypatch),
    ):
        over_http = _on_every_node()
    assert {f["alpha"] for f in over_http} == {"2.0"}


def test_a_bad_bundle_fails_on_the_driver(
    cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloche.integrations.ray_field import RayFieldError

    packed = cluster.work / "bundle.tar.gz"
    packed.write_bytes(b"")
    for field, message in [
        ({"bundle": str(packed)}, "is a file: unpack it"),
        ({"bundle": "relative/bundle"}, "an http\\(s\\) URL or an absolute path"),
        ({"bundle": str(cluster.work / "nowhere")}, "does not exist on the driver"),
        ({"bundle": str(cluster.work), "lock": "x"}, "exactly one of"),
    ]:
        with (
            pytest.raises(RayFieldError, match=message),
            job(cluster, {"cloche": field}, monkeypatch),
        ):
            pass


DRIVER = """
import json, sys
import ray

ray.init(address=sys.argv[1], runtime_env={"env_vars": {"PYTHONPATH": sys.argv[2]}})

@ray.remote(num_cpus=0)
def where():
    import importlib.metadata, sys
    return {"prefix": sys.prefix, "alpha": importlib.metadata.version("alpha")}

# One node after another: the three nodes share this machine's session folder, and
# each node's set-up deletes and unpacks the working_dir there again (Ray's
# overwrite=True), under a worker another node may be starting in it.
names = ("head", "node1", "node2")
print(json.dumps([ray.get(where.options(resources={n: 0.01}).remote(), timeout=90) for n in names]))
"""


def test_cloche_run_starts_the_workers_in_the_projects_env(
    cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cloche run -- python driver.py``: Ray's workers on every node run in the
    project's locked env (``py_executable``), as under ``uv run``."""
    lock = _lock(cluster, "driven", ["alpha==1.0"])
    (lock.parent / "driver.py").write_text(DRIVER)
    # The project's lock has no Ray (the test index has none): the driver and the
    # workers take this venv's through PYTHONPATH, as the real project would lock it.
    ray_site = str(Path(ray.__file__).resolve().parent.parent)
    monkeypatch.delenv("RAY_RUNTIME_ENV_HOOK", raising=False)
    result = cloche(
        "run",
        "--",
        "python",
        "driver.py",
        cluster.address,
        ray_site,
        cwd=lock.parent,
        env={
            "PYTHONPATH": ray_site,
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            "RAY_USAGE_STATS_ENABLED": "0",
            "CLOCHE_CACHE_DIR": str(cluster.work / "node-default-cache"),
        },
        timeout=240,
    )
    assert result.code == 0, str(result)
    found = json.loads(result.out.strip().splitlines()[-1])
    assert {f["alpha"] for f in found} == {"1.0"}
    for seen in found:
        # Ray's copy of the project (its working_dir), synced there by cloche run
        assert seen["prefix"].endswith("/.venv")
        assert "working_dir_files" in seen["prefix"], seen
