"""Every doctor check, in the order the report lists them: adding a check is one line.

A check is a function ``DoctorEnv -> Iterable[Finding]``; it reads files only (no
import of the env's packages, no network) and owns one kind of problem.
"""

from __future__ import annotations

from cloche.ops.doctor import checks_deps, checks_drift, checks_files, checks_numpy
from cloche.ops.doctor import checks_gpu as gpu
from cloche.ops.doctor import checks_platform as platform
from cloche.ops.doctor.model import Check, DoctorEnv, Finding

CHECKS: tuple[tuple[str, Check], ...] = (
    ("base-interpreter", platform.base_interpreter),
    ("unmet-requirements", checks_deps.unmet_requirements),
    ("duplicate-dists", checks_deps.duplicate_distributions),
    ("clashing-dists", checks_deps.clashing_distributions),
    ("numpy-abi", checks_numpy.numpy_abi),
    ("foreign-builds", platform.foreign_builds),
    ("gpu-driver", gpu.cuda_driver),
    ("gpu-arch", gpu.cuda_arch),
    ("gpu-cpu-build", gpu.cpu_build_on_gpu),
    ("gpu-unused-cuda", gpu.cuda_build_without_gpu),
    ("record-integrity", checks_files.record_integrity),
    ("stale-path-entries", checks_files.stale_path_entries),
    ("shadowed-packages", platform.shadowed_packages),
    ("conda-pip-mix", platform.conda_pip_mix),
    ("lock-drift", checks_drift.lock_drift),
)


def diagnose(env: DoctorEnv) -> list[Finding]:
    """Run every check on ``env``; the findings in check order."""
    return [finding for _name, check in CHECKS for finding in check(env)]
