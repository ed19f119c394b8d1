"""Choosing torch / TensorFlow / JAX builds for a machine, from the shipped catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloche.core.variants.catalog import parse_catalog, read_catalog, with_torch_index
from cloche.core.variants.catalog_file import CatalogError
from cloche.core.variants.frameworks import Selection, select
from cloche.core.variants.machine import Gpu, Machine
from cloche.core.variants.model import CudaPolicy
from cloche.core.variants.routing import route_package
from cloche.core.variants.select import Request, check_accelerator
from cloche.errors import UsageError

CATALOG = read_catalog()
NEWEST = CATALOG.torch_releases[0].version


def nvidia(driver: str | None, *capabilities: tuple[int, int], cuda=None) -> Machine:
    gpus = tuple(Gpu(f"GPU sm_{a}{b}", 8192, (a, b)) for a, b in capabilities)
    return Machine(vendor="nvidia", gpus=gpus, driver_version=driver, cuda_driver_version=cuda)


def choose(machine: Machine, **request: object) -> Selection:
    return select(CATALOG, machine, Request(**request))  # type: ignore[arg-type]


def test_no_gpu_gets_the_cpu_build_from_its_own_index() -> None:
    chosen = choose(Machine())
    assert chosen.accelerator == "cpu"
    assert chosen.torch.index_url == "https://download.pytorch.org/whl/cpu"
    assert chosen.torch.local_label == "+cpu"
    assert chosen.torch.release == NEWEST
    assert (chosen.tensorflow.variant, chosen.tensorflow.extra) == ("cpu", None)
    assert (chosen.jax.variant, chosen.jax.extra) == ("cpu", None)
    assert "no supported GPU" in chosen.torch.reason


def test_new_driver_and_ampere_get_cu128_and_cuda12_extras() -> None:
    chosen = choose(nvidia("570.86.10", (8, 6)))
    assert chosen.accelerator == "cu128"
    assert chosen.torch.index_url == "https://download.pytorch.org/whl/cu128"
    assert chosen.torch.release == NEWEST
    assert "cu130 (CUDA 13.0 needs driver >= 580)" in chosen.torch.reason
    assert chosen.tensorflow.extra == "and-cuda"
    assert chosen.jax.extra == "cuda12"


def test_cuda13_driver_gets_cu130_and_jax_cuda13() -> None:
    chosen = choose(nvidia("580.65.06", (9, 0)))
    assert chosen.accelerator == "cu130"
    assert chosen.jax.extra == "cuda13"


def test_old_driver_runs_only_cuda_11_8_builds() -> None:
    chosen = choose(nvidia("470.57.02", (7, 5)))
    assert chosen.accelerator == "cu118"
    assert chosen.torch.release == "2.7"  # the newest release with a cu118 build
    assert "newer builds do not fit" in chosen.torch.reason
    assert chosen.tensorflow.release == "2.14"
    assert chosen.jax.variant == "cpu"


def test_pascal_gets_a_build_that_still_has_code_for_it() -> None:
    chosen = choose(nvidia("580.65.06", (6, 1)))
    assert chosen.accelerator == "cu126"  # cu128 and cu130 dropped sm_6x
    assert "no code for sm_61" in chosen.torch.reason
    assert chosen.jax.extra == "cuda12"  # cuda13 needs sm_75


def test_two_gpus_the_oldest_decides() -> None:
    chosen = choose(nvidia("580.65.06", (6, 1), (9, 0)))
    assert chosen.accelerator == "cu126"
    assert "sm_61, sm_90" in chosen.torch.reason


def test_turing_and_volta_under_cuda13() -> None:
    assert choose(nvidia("580.65.06", (7, 5))).accelerator == "cu130"
    assert choose(nvidia("580.65.06", (7, 0))).accelerator == "cu128"


def test_driver_too_old_for_every_cuda_build_is_cpu_with_the_reason() -> None:
    chosen = choose(nvidia("440.33", (7, 5)))
    assert chosen.accelerator == "cpu"
    assert "update the NVIDIA driver" in chosen.torch.reason
    assert "CUDA 11.8 needs driver >= 450.80.02" in chosen.torch.reason
    assert chosen.tensorflow.variant == "cpu"


def test_strict_policy_wants_the_toolkits_own_driver() -> None:
    machine = nvidia("535.104.05", (8, 6))
    assert choose(machine).accelerator == "cu128"
    strict = choose(machine, policy=CudaPolicy.STRICT)
    # The newest torch release first: 2.7's cu118 over 2.5's cu121.
    assert (strict.accelerator, strict.torch.release) == ("cu118", "2.7")
    assert "strict policy" in strict.torch.reason
    pinned = choose(machine, policy=CudaPolicy.STRICT, torch_version="2.5")
    assert pinned.accelerator == "cu121"


def test_cuda_version_without_a_driver_version() -> None:
    machine = Machine(vendor="nvidia", cuda_driver_version=(12, 4))
    assert choose(machine).accelerator == "cu128"
    strict = choose(machine, policy=CudaPolicy.STRICT)
    assert (strict.accelerator, strict.torch.release) == ("cu118", "2.7")
    assert "GPU generation unknown" in strict.torch.reason
    assert choose(machine, policy=CudaPolicy.STRICT, torch_version="2.6").accelerator == "cu124"


def test_rocm_chooses_by_gfx_target() -> None:
    machine = Machine(vendor="amd", gpus=(Gpu("AMD gfx90a", gfx="gfx90a"),), rocm_version="6.4.1")
    chosen = choose(machine)
    assert chosen.accelerator.startswith("rocm")
    assert chosen.torch.index_url == f"https://download.pytorch.org/whl/{chosen.accelerator}"
    assert chosen.tensorflow.variant == "cpu"
    unknown = Machine(vendor="amd", gpus=(Gpu("AMD gfx803", gfx="gfx803"),))
    assert choose(unknown).accelerator == "cpu"


def test_intel_gets_xpu_and_apple_gets_mps_from_the_normal_index() -> None:
    assert choose(Machine(vendor="intel", gpus=(Gpu("Intel Arc"),))).accelerator == "xpu"
    apple = choose(Machine(vendor="apple", platform="darwin", gpus=(Gpu("Apple"),)))
    assert (apple.accelerator, apple.torch.index_url) == ("mps", None)


def test_forced_accelerator_wins_and_warns_when_it_cannot_run() -> None:
    chosen = choose(nvidia("535.104.05", (8, 6)), accelerator="cu130")
    assert chosen.accelerator == "cu130"
    assert "warning: CUDA 13.0 needs driver >= 580" in chosen.torch.reason
    assert chosen.jax.extra == "cuda13"
    assert choose(nvidia("570.86.10", (8, 6)), accelerator="cpu").jax.variant == "cpu"
    old = choose(Machine(), accelerator="cu121")
    assert (old.accelerator, old.torch.release) == ("cu121", "2.5")


def test_unknown_accelerator_is_one_usage_error_listing_the_valid_ones() -> None:
    assert check_accelerator(CATALOG, "auto", "--accelerator") is None
    assert check_accelerator(CATALOG, "CU128", "--accelerator") == "cu128"
    with pytest.raises(UsageError) as info:
        check_accelerator(CATALOG, "cu999", "--accelerator")
    assert "unknown accelerator 'cu999'" in info.value.message
    assert "cpu, cu118" in info.value.message and "xpu" in info.value.message


def test_python_filter_and_torch_version() -> None:
    chosen = choose(nvidia("570.86.10", (8, 6)), python="3.9")
    assert chosen.torch.release == "2.8"
    pinned = choose(nvidia("570.86.10", (8, 6)), torch_version="2.6.0")
    assert (pinned.accelerator, pinned.torch.release) == ("cu126", "2.6")
    unknown = choose(Machine(), torch_version="1.13")
    assert unknown.torch.index_url is None and "knows no torch release" in unknown.torch.reason


def test_routing_pins_the_torch_family_to_the_variant_index() -> None:
    chosen = choose(nvidia("570.86.10", (8, 6)))
    vision = route_package(CATALOG, chosen, "TorchVision")
    assert vision is not None
    assert vision.index_url == "https://download.pytorch.org/whl/cu128"
    assert vision.local_label == "+cu128"
    assert vision.series == CATALOG.torch_releases[0].torchvision
    jax = route_package(CATALOG, chosen, "jax")
    assert jax is not None and jax.extra == "cuda12"
    assert route_package(CATALOG, chosen, "numpy") is None


def test_index_mirror_replaces_every_variant_url() -> None:
    mirror = with_torch_index(CATALOG, "https://mirror.example/pytorch/whl/")
    chosen = select(mirror, Machine(), Request())
    assert chosen.torch.index_url == "https://mirror.example/pytorch/whl/cpu"


def test_catalog_arch_lists_are_data() -> None:
    release = CATALOG.torch_release("2.9.1+cu128")
    assert release is not None
    cu130 = release.variant("cu130")
    assert cu130 is not None and cu130.arch is not None
    assert cu130.arch.oldest == (7, 5)
    assert not cu130.arch.runs_on((7, 0))
    assert cu130.arch.runs_on((8, 9))  # sm_80 code runs on sm_89
    assert cu130.arch.runs_on((13, 0))  # compute_120 PTX
    assert release.companion("torchvision") == "0.24"


BAD_CATALOGS = [
    ("schema = 2", "schema: expected 1, got 2"),
    ("schema = 1\n[cuda]\n", "cuda.major-driver: missing, or not a table"),
    ("not toml [", "invalid TOML"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CATALOGS)
def test_bad_catalog_is_one_error_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(CatalogError) as info:
        parse_catalog(text, "my.toml")
    assert message in info.value.message
    assert info.value.message.startswith("my.toml: ")


def test_bad_arch_entry_names_its_key(tmp_path: Path) -> None:
    text = read_catalog().source
    shipped = Path(text).read_text(encoding="utf-8").replace('"12.0+PTX"]', '"12.0+SASS"]', 1)
    with pytest.raises(CatalogError) as info:
        parse_catalog(shipped, "x.toml")
    assert "torch.arch-lists." in info.value.message and "+PTX" in info.value.message
    broken = tmp_path / "catalog.toml"
    broken.write_text(shipped.replace('python = ">=3.10,<3.15"', 'python = "three"', 1))
    with pytest.raises(CatalogError, match=r"python: not a version specifier"):
        read_catalog(broken)


def test_the_parsed_catalog_is_kept_until_the_file_changes(tmp_path: Path) -> None:
    source = tmp_path / "catalog.toml"
    text = Path(CATALOG.source).read_text(encoding="utf-8")
    source.write_text(text, encoding="utf-8")
    parsed = tmp_path / "cache" / "variants.json"
    first = read_catalog(source, parsed)
    assert parsed.is_file() and first.torch_releases == CATALOG.torch_releases
    assert read_catalog(source, parsed).torch_index == CATALOG.torch_index  # from the JSON
    source.write_text(text.replace("download.pytorch.org", "mirror.example", 1) + "\n")
    assert read_catalog(source, parsed).torch_index == "https://mirror.example/whl"
