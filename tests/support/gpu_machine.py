"""A project on a machine whose only GPU fake is ``nvidia-smi`` on PATH, with the torch
family served by a local stand-in of the PyTorch index (``CLOCHE_TORCH_INDEX_URL``)."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cloche.adapters.accel.detect import CACHE_NAME
from tests.support.cli import Result, cloche
from tests.support.index_server import IndexServer
from tests.support.torch_index import TorchIndex

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

RTX_3090 = 'echo "NVIDIA GeForce RTX 3090, 24576, 8.6, 570.86.10"'
GTX_1080 = 'echo "NVIDIA GeForce GTX 1080, 8192, 6.1, 570.86.10"'
OLD_DRIVER = 'echo "NVIDIA GeForce RTX 3090, 24576, 8.6, 520.61.05"'  # CUDA 11.8


@dataclass
class Machine:
    """A project on a machine whose only GPU fake is ``nvidia-smi`` on PATH."""

    root: Path
    pypi: IndexServer
    torch: TorchIndex
    smi: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str | Path) -> Result:
        bin_dir = self.root.parent / "bin"
        bin_dir.mkdir(exist_ok=True)
        script = bin_dir / "nvidia-smi"
        if self.smi is not None:
            script.write_text(f"#!/bin/sh\n{self.smi}\n", encoding="utf-8")
            script.chmod(0o755)
        else:
            script.unlink(missing_ok=True)
        # The machine may change between commands: detect afresh each time.
        (Path(os.environ["CLOCHE_CACHE_DIR"]) / CACHE_NAME).unlink(missing_ok=True)
        env = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "CLOCHE_TORCH_INDEX_URL": self.torch.url,
            **self.env,
        }
        return cloche(*args, cwd=self.root, env=env)

    def ok(self, *args: str | Path) -> Result:
        result = self.run(*args)
        assert result.code == 0, result
        return result

    def locked(self, name: str = "pylock.toml") -> dict[str, str]:
        with (self.root / name).open("rb") as fh:
            data = tomllib.load(fh)
        return {p["name"]: p.get("version", "") for p in data["packages"]}

    def installed(self) -> dict[str, str]:
        result = cloche("pip", "list", "--python", self.root / ".venv", "--format", "json")
        assert result.code == 0, result
        return {d["name"]: d["version"] for d in json.loads(result.out)}


def new_machine(
    tmp_path: Path,
    pypi: IndexServer,
    torch_index: TorchIndex,
    requires_python: str | None = None,
) -> Machine:
    """``cloche init`` a project whose normal index is ``pypi`` (and whose
    ``requires-python`` is ``requires_python`` when given)."""
    result = cloche("init", "--python", sys.executable, "demo", cwd=tmp_path)
    assert result.code == 0, result
    root = tmp_path / "demo"
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    if requires_python is not None:
        start = text.index("requires-python")
        end = text.index("\n", start)
        text = f'{text[:start]}requires-python = "{requires_python}"{text[end:]}'
    pyproject.write_text(f'{text}\n[tool.cloche]\nindex-url = "{pypi.url}"\n')
    return Machine(root, pypi, torch_index)
