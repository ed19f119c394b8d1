"""Read the build catalog (``catalog.toml`` shipped beside this module, or a user's
replacement) into frozen values, with errors that name the key that was wrong."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from cloche.core.variants.catalog_file import (
    SHIPPED_CATALOG,
    CatalogError,
    parse_catalog_toml,
    read_catalog_data,
)
from cloche.core.variants.model import (
    ArchList,
    Capability,
    Catalog,
    CudaDrivers,
    DriverMinimum,
    JaxExtra,
    TensorflowRelease,
    TorchRelease,
    Variant,
    VariantKind,
    parse_driver_version,
    variant_kind_and_toolkit,
)

SCHEMA = 1
PLATFORM_LABELS = frozenset(
    (
        *("linux", "linux-aarch64", "musllinux", "musllinux-aarch64"),
        *("macos", "macos-x86_64", "windows", "windows-arm64", "windows-x86"),
    )
)
"""The platforms ``core.targets`` names its targets by (``Target.platform``); spelled out
here because importing ``core.targets`` (``packaging.tags``) would slow every read."""
_SPECIFIER = re.compile(r"\s*(~=|==|!=|<=|>=|<|>)\s*\d+(\.\d+)*(\.\*)?\s*$")


def read_catalog(path: Path | None = None, parsed: Path | None = None) -> Catalog:
    """The catalog in ``path`` (default: the one shipped with cloche); ``parsed`` keeps
    the parsed TOML (see ``read_catalog_data``)."""
    where = path or SHIPPED_CATALOG
    return _Reader(str(where)).catalog(read_catalog_data(where, parsed))


def parse_catalog(text: str, where: str) -> Catalog:
    return _Reader(where).catalog(parse_catalog_toml(text, where))


def with_torch_index(catalog: Catalog, base_url: str) -> Catalog:
    """The catalog with every torch variant served from ``base_url``/<variant> (a mirror)."""
    base = base_url.rstrip("/")
    releases = tuple(
        replace(
            release,
            variants=tuple(replace(v, index_url=f"{base}/{v.name}") for v in release.variants),
        )
        for release in catalog.torch_releases
    )
    return replace(catalog, torch_index=base, torch_releases=releases)


class _Reader:
    """Typed access to the catalog document; every error names the file and key path."""

    def __init__(self, where: str) -> None:
        self.where = where

    def error(self, key: str, problem: str) -> CatalogError:
        return CatalogError(f"{self.where}: {key}: {problem}")

    def table(self, data: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
        value = data.get(key)
        if not isinstance(value, Mapping):
            raise self.error(f"{path}{key}", "missing, or not a table")
        return value

    def string(self, data: Mapping[str, Any], key: str, path: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value:
            raise self.error(f"{path}{key}", "missing, or not a string")
        return value

    def strings(self, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = data.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(f"{path}{key}", "missing, or not a list of strings")
        return tuple(value)

    def tables(self, data: Mapping[str, Any], key: str, path: str) -> list[Mapping[str, Any]]:
        value = data.get(key)
        if not isinstance(value, list) or not value:
            raise self.error(f"{path}{key}", "missing, or not an array of tables")
        if not all(isinstance(v, Mapping) for v in value):
            raise self.error(f"{path}{key}", "every entry must be a table")
        return value

    def driver(self, text: object, key: str) -> DriverMinimum:
        version = parse_driver_version(text) if isinstance(text, str) else None
        if version is None or not isinstance(text, str):
            raise self.error(key, f"not a driver version: {text!r}")
        return DriverMinimum(version, text)

    def cuda(self, text: object, key: str) -> tuple[int, int]:
        version = parse_driver_version(text) if isinstance(text, str) else None
        if version is None or len(version) != 2:
            raise self.error(key, f"not a CUDA version such as '12.8': {text!r}")
        return version[0], version[1]

    def arch(self, entries: tuple[str, ...], key: str) -> ArchList:
        cubins: list[Capability] = []
        ptx: list[Capability] = []
        for entry in entries:
            number, plus, suffix = entry.partition("+")
            capability = self.cuda(number, key)
            if plus and suffix != "PTX":
                raise self.error(key, f"{entry!r}: only '+PTX' may follow an architecture")
            cubins.append(capability)
            if plus:
                ptx.append(capability)
        return ArchList(tuple(cubins), tuple(ptx))

    def catalog(self, data: Mapping[str, Any]) -> Catalog:
        if data.get("schema") != SCHEMA:
            raise self.error("schema", f"expected {SCHEMA}, got {data.get('schema')!r}")
        cuda = self.table(data, "cuda", "")
        majors = self.table(cuda, "major-driver", "cuda.")
        toolkits = self.table(cuda, "toolkit-driver", "cuda.")
        per_major = {}
        for major, text in majors.items():
            if not major.isdigit():
                raise self.error(f"cuda.major-driver.{major}", "a CUDA major such as '12'")
            per_major[int(major)] = self.driver(text, f"cuda.major-driver.{major}")
        per_toolkit = {
            self.cuda(name, f"cuda.toolkit-driver.{name}"): self.driver(
                text, f"cuda.toolkit-driver.{name}"
            )
            for name, text in toolkits.items()
        }
        torch = self.table(data, "torch", "")
        tensorflow = self.table(data, "tensorflow", "")
        jax = self.table(data, "jax", "")
        index = self.string(torch, "index", "torch.").rstrip("/")
        return Catalog(
            drivers=CudaDrivers(per_major, per_toolkit),
            torch_index=index,
            torch_family=self.strings(torch, "family", "torch."),
            torch_releases=self.torch_releases(torch, index, per_major),
            tensorflow_extra=self.string(tensorflow, "extra", "tensorflow."),
            tensorflow_releases=self.tensorflow_releases(tensorflow),
            jax_extras=self.jax_extras(jax),
            source=self.where,
            platforms=self.platforms(torch),
        )

    def platforms(self, torch: Mapping[str, Any]) -> dict[VariantKind, tuple[str, ...]]:
        """``[torch.platforms]`` (optional: without it every build exists everywhere)."""
        if "platforms" not in torch:
            return {}
        table = self.table(torch, "platforms", "torch.")
        out = {}
        for kind in table:
            path = f"torch.platforms.{kind}"
            if kind not in {k.value for k in VariantKind}:
                raise self.error(path, "not a kind of build (cpu, cuda, rocm, xpu)")
            names = self.strings(table, kind, "torch.platforms.")
            unknown = [name for name in names if name not in PLATFORM_LABELS]
            if unknown:
                listed = ", ".join(sorted(PLATFORM_LABELS))
                raise self.error(path, f"{unknown[0]!r} is no platform ({listed})")
            out[VariantKind(kind)] = names
        return out

    def torch_releases(
        self, torch: Mapping[str, Any], index: str, majors: Mapping[int, DriverMinimum]
    ) -> tuple[TorchRelease, ...]:
        arch_lists = self.table(torch, "arch-lists", "torch.")
        gfx_lists = self.table(torch, "gfx-lists", "torch.")
        releases = []
        for i, entry in enumerate(self.tables(torch, "release", "torch.")):
            path = f"torch.release[{i}]."
            variants_table = self.table(entry, "variants", path)
            variants = tuple(
                self.variant(name, ref, index, arch_lists, gfx_lists, majors, f"{path}variants.")
                for name, ref in variants_table.items()
            )
            releases.append(
                TorchRelease(
                    version=self.string(entry, "version", path),
                    python=self.python(entry, path),
                    torchvision=self.string(entry, "torchvision", path),
                    torchaudio=self.string(entry, "torchaudio", path),
                    variants=variants,
                )
            )
        return tuple(sorted(releases, key=_release_key, reverse=True))

    def variant(
        self,
        name: str,
        ref: object,
        index: str,
        arch_lists: Mapping[str, Any],
        gfx_lists: Mapping[str, Any],
        majors: Mapping[int, DriverMinimum],
        path: str,
    ) -> Variant:
        meaning = variant_kind_and_toolkit(name)
        if meaning is None:
            raise self.error(f"{path}{name}", "not a variant name (cpu, cuNNN, rocmX.Y, xpu)")
        kind, toolkit = meaning
        if not isinstance(ref, str):
            raise self.error(f"{path}{name}", "must name an arch list (or be '')")
        url = f"{index}/{name}"
        if kind is VariantKind.CUDA:
            assert toolkit is not None
            if toolkit[0] not in majors:
                raise self.error(f"{path}{name}", f"no cuda.major-driver for CUDA {toolkit[0]}")
            listed = self.strings(arch_lists, ref, "torch.arch-lists.")
            arch = self.arch(listed, f"torch.arch-lists.{ref}")
            return Variant(name, kind, url, toolkit=toolkit, arch=arch)
        if kind is VariantKind.ROCM:
            gfx = self.strings(gfx_lists, ref, "torch.gfx-lists.")
            return Variant(name, kind, url, toolkit=toolkit, gfx=gfx)
        return Variant(name, kind, url)

    def python(self, entry: Mapping[str, Any], path: str) -> str:
        # A light check (packaging.specifiers costs an import on every run); the
        # specifier is parsed by packaging when a Python is asked for.
        text = self.string(entry, "python", path)
        if not all(_SPECIFIER.match(clause) for clause in text.split(",")):
            raise self.error(f"{path}python", f"not a version specifier: {text!r}")
        return text

    def tensorflow_releases(self, tensorflow: Mapping[str, Any]) -> tuple[TensorflowRelease, ...]:
        releases = []
        for i, entry in enumerate(self.tables(tensorflow, "release", "tensorflow.")):
            path = f"tensorflow.release[{i}]."
            releases.append(
                TensorflowRelease(
                    version=self.string(entry, "version", path),
                    python=self.python(entry, path),
                    cuda=self.cuda(entry.get("cuda"), f"{path}cuda"),
                    arch=self.arch(self.strings(entry, "arch", path), f"{path}arch"),
                )
            )
        return tuple(sorted(releases, key=_release_key, reverse=True))

    def jax_extras(self, jax: Mapping[str, Any]) -> tuple[JaxExtra, ...]:
        extras = []
        for i, entry in enumerate(self.tables(jax, "extra", "jax.")):
            path = f"jax.extra[{i}]."
            extras.append(
                JaxExtra(
                    name=self.string(entry, "name", path),
                    cuda=self.cuda(entry.get("cuda"), f"{path}cuda"),
                    arch=self.arch(self.strings(entry, "arch", path), f"{path}arch"),
                )
            )
        return tuple(sorted(extras, key=lambda extra: extra.cuda, reverse=True))


def _release_key(release: TorchRelease | TensorflowRelease) -> tuple[int, ...]:
    return parse_driver_version(release.version) or (0,)
