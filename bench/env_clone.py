#!/usr/bin/env python3
"""``cloche env clone`` against ``cp -a`` (the conda-style copy) of the same env.

Usage::

    python bench/env_clone.py                 # numpy pandas scikit-learn matplotlib
    python bench/env_clone.py --repeat 7 requests

Creates one named env (untimed; the cache is the user's), then alternates clone
and ``cp -a`` runs, each into a fresh name, and prints the minimum and median of each
(the minimum is the steadier figure on a loaded machine), their ratios and the
disk each copy added (allocated blocks, each inode counted once).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKAGES = ["numpy", "pandas", "scikit-learn", "matplotlib"]


def timed(argv: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return time.perf_counter() - began


def own_blocks(root: Path) -> int:
    """Bytes of the files under ``root`` that nothing else links (what the copy added)."""
    total = 0
    for directory, _dirs, files in os.walk(root):
        for name in files:
            st = os.lstat(Path(directory, name))
            if st.st_nlink == 1:
                total += st.st_blocks * 512
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", default=PACKAGES)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-clone-"))
    env = {**os.environ, "CLOCHE_ENVS_DIR": str(work / "envs")}
    cloche = [sys.executable, "-m", "cloche"]
    try:
        subprocess.run([*cloche, "env", "create", "src", *args.packages], env=env, check=True)
        source = work / "envs" / "src"
        clone_times, copy_times = [], []
        for i in range(args.repeat):
            clone_times.append(timed([*cloche, "env", "clone", "src", f"c{i}", "-q"], env))
            copy_times.append(timed(["cp", "-a", str(source), str(work / f"cp{i}")], env))
        size = own_blocks(work / "cp0")
        added = own_blocks(work / "envs" / "c0")
        clone, copy = statistics.median(clone_times), statistics.median(copy_times)
        fastest = min(copy_times) / min(clone_times)
        print(
            f"env: {', '.join(args.packages)} ({size / 1e6:.0f} MB, load {os.getloadavg()[0]:.1f})"
        )
        for label, times in (("cloche env clone", clone_times), ("cp -a", copy_times)):
            print(
                f"{label + ':':<17} min {min(times):.3f} s  median {statistics.median(times):.3f} s"
                f"  runs {[round(t, 3) for t in times]}"
            )
        print(
            f"ratio {copy / clone:.1f}x (medians), {fastest:.1f}x (minimums); "
            f"the clone added {added / 1e6:.2f} MB "
            f"({100 * added / size:.2f}% of the env)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
