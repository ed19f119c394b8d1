"""Env creation on a Ray node: cloche's plugin vs a local ``cloche sync`` vs Ray's ``pip`` field.

Run from the repo root in a venv with ``pip install -e '.[ray]'`` (about 3 minutes)::

    python bench/ray_env.py                 # numpy pandas scikit-learn, 3 repeats
    python bench/ray_env.py --repeat 5 --packages numpy pandas

It locks the packages from the configured index, warms one cache (the "shared"
cache), then times, each from no env at all:

* ``cloche sync`` of the same lock in a project (the command, venv included);
* the plugin's create on a node, in process as the runtime-env agent runs it, with
  the env on the cache's filesystem (hardlinks) and on another one (/dev/shm: copies);
* a Ray task's first result on a fresh one-node local cluster with
  ``runtime_env={"cloche": ...}``, ``{"pip": [the locked pins]}``, and none.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(action: Callable[[], object], setup: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        setup()
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def report(name: str, times: list[float]) -> float:
    median = statistics.median(times)
    print(f"  {name:<44} median {median:7.2f}s  min {min(times):7.2f}s  ({len(times)} runs)")
    return median


def make_project(work: Path, packages: list[str], env: dict[str, str]) -> Path:
    project = work / "project"
    project.mkdir()
    deps = ", ".join(f'"{p}"' for p in packages)
    py = f"{sys.version_info[0]}.{sys.version_info[1]}"
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "bench"\nversion = "0"\nrequires-python = ">={py}"\n'
        f'dependencies = [{deps}]\n[tool.cloche]\ntargets = ["linux"]\n'
    )
    (project / ".python-version").write_text(py + "\n")
    cloche(["lock"], project, env)
    cloche(["sync", "--frozen"], project, env)  # warms the cache: the "shared" one
    return project


def cloche(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "cloche", *args], cwd=cwd, env=env, check=True)


def plugin_create(field: dict[str, object], env_root: Path) -> Callable[[], object]:
    from cloche.integrations import ray_plugin
    from cloche.integrations.ray_field import node_field

    checked = node_field(field)

    def create() -> object:
        os.environ[ray_plugin.ENV_DIR_VAR] = str(env_root)
        return ray_plugin._make(checked, ray_plugin.env_path(checked))

    return create


def first_task_seconds(runtime_env: dict[str, object], nodes_env: dict[str, str]) -> float:
    """A fresh local Ray, then the time from submitting one task to its result."""
    code = f"""
import json, os, time, ray
ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
@ray.remote
def probe():
    import sys; return sys.prefix
ray.get(probe.options(runtime_env={{}}).remote())  # a worker is up: not timed
started = time.perf_counter()
ray.get(probe.options(runtime_env=json.loads({json.dumps(json.dumps(runtime_env))})).remote(),
        timeout=1800)
print(time.perf_counter() - started)
ray.shutdown()
"""
    out = subprocess.run(
        [sys.executable, "-c", code], env=nodes_env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--packages", nargs="+", default=["numpy", "pandas", "scikit-learn"])
    parser.add_argument("--skip-ray", action="store_true", help="no local Ray cluster runs")
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cloche-ray-bench-"))
    cache = work / "shared-cache"
    env = {**os.environ, "CLOCHE_CACHE_DIR": str(cache)}
    os.environ["CLOCHE_CACHE_DIR"] = str(cache)
    print(f"work dir {work}; locking and warming the cache (not timed) ...", flush=True)
    project = make_project(work, opts.packages, env)
    lock_text = (project / "pylock.toml").read_text()
    count = lock_text.count("[[packages]]")
    print(f"{count} locked packages: {' '.join(opts.packages)}")
    medians: dict[str, float] = {}
    venv = project / ".venv"
    medians["sync"] = report(
        "cloche sync (local, warm cache)",
        timed(
            lambda: cloche(["sync", "--frozen"], project, env),
            lambda: shutil.rmtree(venv),
            opts.repeat,
        ),
    )
    field = {"lock_text": lock_text, "source": "pylock.toml", "cache": str(cache)}
    for name, root in (("hardlinks", work / "envs"), ("copies", Path("/dev/shm") / work.name)):
        create = plugin_create(field, root)
        medians[name] = report(
            f"plugin create, warm shared cache ({name})",
            timed(create, lambda r=root: shutil.rmtree(r, ignore_errors=True), opts.repeat),
        )
        shutil.rmtree(root, ignore_errors=True)
    if not opts.skip_ray:
        nodes_env = {
            **env,
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            "RAY_RUNTIME_ENV_PLUGINS": json.dumps(
                [{"class": "cloche.integrations.ray_plugin.ClochePlugin"}]
            ),
            "CLOCHE_RAY_ENV_DIR": str(work / "ray-envs"),
            "RAY_USAGE_STATS_ENABLED": "0",
        }
        lines = subprocess.run(
            [sys.executable, "-m", "cloche", "export", "requirements"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.splitlines()
        pins = [line.split(";")[0].strip() for line in lines if "==" in line]
        cases = {
            "ray task, runtime_env none": {},
            "ray task, runtime_env cloche (warm cache)": {"cloche": field},
            "ray task, runtime_env pip (same pins)": {"pip": pins},
        }
        for name, runtime_env in cases.items():

            def reset() -> None:
                shutil.rmtree(work / "ray-envs", ignore_errors=True)

            medians[name] = report(
                name,
                timed(lambda e=runtime_env: first_task_seconds(e, nodes_env), reset, opts.repeat),
            )
    print(json.dumps({k: round(v, 3) for k, v in medians.items()}))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
