"""Env creation on a Ray node: cloche's plugin vs a local ``cloche sync`` vs Ray's
``pip`` and ``uv`` fields, from a warm shared cache, a cold cache and a bundle.

Run from the repo root in a venv with ``pip install -e '.[ray]' uv`` (about 5 minutes)::

    python bench/ray_env.py                 # numpy pandas scikit-learn, 3 repeats
    python bench/ray_env.py --torch         # plus the torch CPU wheel in /opt/wheels
    python bench/ray_env.py --repeat 5 --packages numpy pandas

The packages come from a local index served on 127.0.0.1 (the simple pages and
files under /opt/pypi and /opt/pypi-more, plus /opt/wheels/torch-*+cpu*.whl with
``--torch``; pip's own configuration is never read, and pip/uv get ``--index-url``
too). It locks, warms one cache (the "shared" cache), writes a ``cloche bundle``,
then times, each from no env at all:

* ``cloche sync`` of the same lock in a project (the command, venv included);
* the plugin's create on a node, in process as the runtime-env agent runs it: warm
  shared cache with the env on the cache's filesystem (hardlinks) and on another one
  (/dev/shm: copies); an empty cache (downloads from the index over loopback); an
  empty cache and the bundle as a directory and over HTTP;
* a Ray task's first result on a fresh one-node local cluster with
  ``runtime_env={"cloche": ...}``, ``{"pip": pins}``, ``{"uv": pins}``, and none
  (``--ray-repeat`` runs each; pip and uv install the same locked pins).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOCAL_TREES = (Path("/opt/pypi"), Path("/opt/pypi-more"))


def local_index(root: Path, torch: bool) -> Path:
    """One simple index (``root/simple``, ``root/files``) merged from LOCAL_TREES."""
    import hashlib
    import re

    pages: dict[str, list[str]] = {}
    (root / "files").mkdir(parents=True)
    for tree in LOCAL_TREES:
        for file in (tree / "files").iterdir():
            link = root / "files" / file.name
            if not link.exists():
                link.symlink_to(file)
        for page in (tree / "simple").iterdir():
            if (page / "index.html").is_file():
                text = (page / "index.html").read_text()
                pages.setdefault(page.name, []).extend(re.findall(r"<a [^>]*>[^<]*</a>", text))
    if torch:
        (wheel,) = Path("/opt/wheels").glob("torch-*+cpu-*.whl")
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        (root / "files" / wheel.name).symlink_to(wheel)
        pages["torch"] = [f'<a href="../../files/{wheel.name}#sha256={digest}">{wheel.name}</a>']
    for name, links in pages.items():
        (root / "simple" / name).mkdir(parents=True)
        body = "\n".join(dict.fromkeys(links))
        (root / "simple" / name / "index.html").write_text(f"<html><body>\n{body}\n</body></html>")
    return root


@contextlib.contextmanager
def served(folder: Path) -> Iterator[str]:
    """``folder`` over HTTP on 127.0.0.1, quietly."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.handle_error = lambda *args: None  # type: ignore[method-assign]  # clients' early closes
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


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


def make_project(work: Path, packages: list[str], env: dict[str, str], index: str) -> Path:
    project = work / "project"
    project.mkdir()
    deps = ", ".join(f'"{p}"' for p in packages)
    py = f"{sys.version_info[0]}.{sys.version_info[1]}"
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "bench"\nversion = "0"\nrequires-python = ">={py}"\n'
        f'dependencies = [{deps}]\n[tool.cloche]\ntargets = ["linux"]\n'
        f'index-url = "{index}/simple"\n'
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


def bundle_stats(bundle: Path) -> tuple[int, int]:
    """The bundle's wheels: how many, and their bytes."""
    wheels = list((bundle / "wheels").iterdir())
    return len(wheels), sum(w.stat().st_size for w in wheels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ray-repeat", type=int, default=1)
    parser.add_argument("--packages", nargs="+", default=["numpy", "pandas", "scikit-learn"])
    parser.add_argument("--torch", action="store_true", help="add torch (the CPU wheel)")
    parser.add_argument("--skip-ray", action="store_true", help="no local Ray cluster runs")
    opts = parser.parse_args()
    packages = [*opts.packages, *(["torch"] if opts.torch else [])]
    work = Path(tempfile.mkdtemp(prefix="cloche-ray-bench-"))
    with served(local_index(work / "index", opts.torch)) as index:
        run(opts, packages, work, index)
    shutil.rmtree(work, ignore_errors=True)


def run(opts: argparse.Namespace, packages: list[str], work: Path, index: str) -> None:
    cache = work / "shared-cache"
    env = {**os.environ, "CLOCHE_CACHE_DIR": str(cache), "PIP_CONFIG_FILE": os.devnull}
    env.pop("PIP_FIND_LINKS", None)
    os.environ["CLOCHE_CACHE_DIR"] = str(cache)
    print(f"work dir {work}; index {index}; locking and warming the cache ...", flush=True)
    project = make_project(work, packages, env, index)
    lock_text = (project / "pylock.toml").read_text()
    count = lock_text.count("[[packages]]")
    bundle = work / "bundle"
    cloche(["bundle", "-o", str(bundle), "--platform", "linux"], project, env)
    files, size = bundle_stats(bundle)
    print(
        f"{count} locked packages: {' '.join(packages)}; bundle {files} wheels, {size / 1e6:.0f} MB"
    )
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
        if name == "copies":
            size, _ = create()  # type: ignore[misc]
            print(f"  an env of copies holds {size / 1e6:.0f} MB (what linking saves per node)")
        shutil.rmtree(root, ignore_errors=True)
    cold = str(work / "cold-cache")
    with served(bundle) as bundle_url:
        cold_cases = {
            "cold cache, from the index": {**field, "cache": cold},
            "cold cache, bundle directory": {**field, "cache": cold, "bundle": str(bundle)},
            "cold cache, bundle over HTTP": {**field, "cache": cold, "bundle": bundle_url},
        }
        for name, cold_field in cold_cases.items():

            def fresh() -> None:
                shutil.rmtree(work / "envs", ignore_errors=True)
                shutil.rmtree(cold, ignore_errors=True)

            create = plugin_create(cold_field, work / "envs")
            medians[name] = report(f"plugin create, {name}", timed(create, fresh, opts.repeat))
    if not opts.skip_ray:
        medians.update(ray_tasks(opts, project, env, field, work, index))
    print(json.dumps({k: round(v, 3) for k, v in medians.items()}))


def ray_tasks(
    opts: argparse.Namespace,
    project: Path,
    env: dict[str, str],
    field: dict[str, object],
    work: Path,
    index: str,
) -> dict[str, float]:
    nodes_env = {
        **env,
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_RUNTIME_ENV_PLUGINS": json.dumps(
            [{"class": "cloche.integrations.ray_plugin.ClochePlugin"}]
        ),
        "CLOCHE_RAY_ENV_DIR": str(work / "ray-envs"),
        "RAY_USAGE_STATS_ENABLED": "0",
        "UV_CACHE_DIR": str(work / "uv-cache"),
        "PATH": str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
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
    options = ["--index-url", f"{index}/simple"]
    cases: dict[str, dict[str, object]] = {
        "ray task, runtime_env none": {},
        "ray task, runtime_env cloche (warm cache)": {"cloche": field},
        "ray task, runtime_env pip (same pins)": {
            "pip": {"packages": pins, "pip_install_options": [*options, "--no-cache-dir"]}
        },
    }
    if shutil.which("uv", path=nodes_env["PATH"]):
        cases["ray task, runtime_env uv (same pins, its cache)"] = {
            "uv": {"packages": pins, "uv_pip_install_options": options}
        }
    medians = {}
    for name, runtime_env in cases.items():

        def reset() -> None:
            shutil.rmtree(work / "ray-envs", ignore_errors=True)

        medians[name] = report(
            name,
            timed(lambda e=runtime_env: first_task_seconds(e, nodes_env), reset, opts.ray_repeat),
        )
    return medians


if __name__ == "__main__":
    main()
