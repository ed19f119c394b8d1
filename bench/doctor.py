#!/usr/bin/env python3
"""Time ``cloche doctor`` on an environment (target: under 1 s for 50 packages).

    python bench/doctor.py                 # builds a venv of 50 test packages first
    python bench/doctor.py --env PATH      # an existing env (e.g. numpy/pandas/sklearn/...)

Run from the repository root. Prints the median and minimum of --repeat runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _synthetic_env(work: Path, count: int) -> Path:
    from tests.support.dists import make_wheel

    wheels = work / "wheels"
    for i in range(count):
        files = {f"pkg{i}/__init__.py": "X = 1\n", f"pkg{i}/mod.py": "Y = 2\n" * 200}
        requires = [f"pkg{i + 1}"] if i + 1 < count else []
        make_wheel(wheels, f"pkg{i}", "1.0", files=files, requires=requires)
    env = work / "env"
    cloche = [sys.executable, "-m", "cloche"]
    subprocess.run([*cloche, "venv", env], check=True, capture_output=True)
    subprocess.run(
        [*cloche, "pip", "install", "--python", env, "--no-index", "-f", wheels, "pkg0"],
        check=True,
        capture_output=True,
    )
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", type=Path, default=None)
    parser.add_argument("--packages", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cloche-doctor-bench-") as tmp:
        env = args.env or _synthetic_env(Path(tmp), args.packages)
        command = [sys.executable, "-m", "cloche", "doctor", "--python", str(env), "--json"]
        subprocess.run(command, capture_output=True, cwd=tmp)  # warm the interpreter probe
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run(command, capture_output=True, cwd=tmp)
            times.append(time.perf_counter() - start)
    median, best = statistics.median(times), min(times)
    verdict = "met" if median < 1.0 else "MISSED"
    print(f"cloche doctor on {env}: median {median:.3f} s, min {best:.3f} s", end=" ")
    print(f"(target < 1 s: {verdict})")


if __name__ == "__main__":
    main()
