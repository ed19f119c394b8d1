"""ops.accelerated and ops.named_locks without a subprocess: the machine comes from
the ``cuda_driver_version`` override (no detection)."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

from cloche.config import Settings
from cloche.core.models import normalize
from cloche.errors import UsageError
from cloche.ops.accelerated import AcceleratorAsk, route, torch_series, with_extras
from cloche.ops.gpu_relevance import named_locks
from cloche.ops.named_locks import lock_name_for, pick_lock, variant_of


def settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(cache_dir=tmp_path / "cache", **changes)  # type: ignore[arg-type]


def test_nothing_gpu_built_leaves_the_settings_alone(tmp_path: Path) -> None:
    base = settings(tmp_path)
    routed = route(base, ["numpy", "pandas"], AcceleratorAsk())
    assert routed.settings is base and routed.line is None and routed.accelerator is None


def test_torch_family_pinned_to_the_variant(tmp_path: Path) -> None:
    base = settings(tmp_path, torch_index_url="https://mirror.example/whl")
    routed = route(base, ["Torch"], AcceleratorAsk("cu126"))
    pins = routed.settings.package_indexes
    for name in ("torch", "torchvision", "torchaudio"):
        assert pins[normalize(name)] == "https://mirror.example/whl/cu126"
    assert routed.accelerator == "cu126"
    assert routed.line is not None and "cu126 asked for by --accelerator" in routed.line


def test_a_family_the_user_pinned_stays_theirs(tmp_path: Path) -> None:
    own = {"torchvision": "https://mirror.example/torchvision/"}
    base = settings(tmp_path, package_indexes=own)
    routed = route(base, ["torch", "torchvision"], AcceleratorAsk("cu126"))
    assert routed.settings.package_indexes == base.package_indexes
    assert routed.line is None


def test_jax_extra_from_the_driver(tmp_path: Path) -> None:
    base = settings(tmp_path, cuda_driver_version="570.86.10")
    routed = route(base, ["jax", "numpy"], AcceleratorAsk())
    assert dict(routed.extras) == {"jax": "cuda12"}
    assert routed.settings.package_indexes == base.package_indexes
    written = with_extras(["jax>=0.7", "numpy", "jax[tpu]", "./local/dir"], routed.extras)
    assert written == ["jax[cuda12]>=0.7", "numpy", "jax[tpu]", "./local/dir"]


def test_an_unknown_torch_release_is_a_warning_and_the_normal_indexes(tmp_path: Path) -> None:
    base = settings(tmp_path)
    ask = AcceleratorAsk(torch_version=torch_series([Requirement("torch==3.0.1")]))
    routed = route(base, ["torch"], ask)
    assert routed.settings.package_indexes == base.package_indexes
    assert routed.warnings and "knows no torch release for torch 3.0" in routed.warnings[0]


def test_torch_series() -> None:
    assert torch_series([Requirement("numpy==2.0"), Requirement("torch==2.9.*")]) == "2.9"
    assert torch_series([Requirement("torch~=2.8.0")]) == "2.8.0"
    assert torch_series([Requirement("torch>=2.5")]) is None


def test_named_lock_names(tmp_path: Path) -> None:
    for name in ("pylock.toml", "pylock.cpu.toml", "pylock.cu128.toml", "pylock.a.b.toml"):
        (tmp_path / name).write_text("")
    assert named_locks(tmp_path) == ("cpu", "cu128")
    assert lock_name_for("rocm6.4") == "rocm6-4"
    assert variant_of("rocm6-4", ("cpu", "rocm6.4")) == "rocm6.4"
    assert variant_of("mine", ("cpu",)) is None


def test_pick_lock(tmp_path: Path) -> None:
    base = settings(tmp_path, cuda_driver_version="520.61.05")  # CUDA 11.8
    assert pick_lock(base, tmp_path, None, None) is None  # no locks at all: pylock.toml
    for name in ("pylock.cpu.toml", "pylock.cu118.toml", "pylock.cu128.toml"):
        (tmp_path / name).write_text("")
    assert pick_lock(base, tmp_path, None, None) == "cu118"  # the newest CUDA it runs
    assert pick_lock(base, tmp_path, "rocm6.4", None) == "rocm6-4"
    assert pick_lock(base, tmp_path, None, "mine") == "mine"
    cpu = settings(tmp_path, accelerator="cpu")
    assert pick_lock(cpu, tmp_path, None, None) == "cpu"
    with pytest.raises(UsageError, match="unknown accelerator 'cu999'"):
        pick_lock(base, tmp_path, "cu999", None)
    with pytest.raises(UsageError, match="is no lock name"):
        pick_lock(base, tmp_path, None, "rocm6.4")
    (tmp_path / "pylock.cpu.toml").unlink()
    with pytest.raises(UsageError, match="no lock of this project fits this machine"):
        pick_lock(cpu, tmp_path, None, None)  # a CUDA lock on a CPU machine: only if asked
    (tmp_path / "pylock.toml").write_text("")
    assert pick_lock(base, tmp_path, None, None) is None
