#!/usr/bin/env python3
"""Time a warm ``cloche bundle`` (target: under 2 s for the numpy / pandas /
scikit-learn / matplotlib lock). Needs the network once, to lock and fill the cache.

    python bench/bundle.py                    # a scratch project in a temp dir
    python bench/bundle.py --platform linux   # one target instead of the lock's three

Run from the repository root. Prints the median and minimum of --repeat runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKAGES = '["numpy", "pandas", "scikit-learn", "matplotlib"]'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--platform", action="append", default=[])
    args = parser.parse_args()
    cloche = [sys.executable, "-m", "cloche"]
    with tempfile.TemporaryDirectory(prefix="cloche-bench-bundle-") as scratch:
        work = Path(scratch)
        env = {**os.environ, "CLOCHE_CACHE_DIR": str(work / "cache")}
        subprocess.run([*cloche, "init", "--python", sys.executable, "ml"], cwd=work, env=env,
                       check=True, capture_output=True)  # fmt: skip
        project = work / "ml"
        pyproject = project / "pyproject.toml"
        pyproject.write_text(
            pyproject.read_text().replace("dependencies = []", f"dependencies = {PACKAGES}")
        )
        subprocess.run([*cloche, "lock"], cwd=project, env=env, check=True)
        flags = [f"--platform={name}" for name in args.platform]
        bundle = [*cloche, "bundle", "-o", str(work / "bundle"), "--force", *flags]
        subprocess.run(bundle, cwd=project, env=env, check=True)  # cold: fills the cache
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run(bundle, cwd=project, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    print(f"cloche bundle (warm): median {statistics.median(times):.2f} s, min {min(times):.2f} s")


if __name__ == "__main__":
    main()
