"""Locks made by the real ``cloche lock`` against a local index, for tests that install them."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support.cli import cloche
from tests.support.index_server import IndexServer


def write_project(
    root: Path,
    index: IndexServer,
    dependencies: Sequence[str],
    groups: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """A project in ``root`` that depends on ``dependencies``, locked; its pylock.toml."""
    root.mkdir(parents=True, exist_ok=True)
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    lines = [
        "[project]",
        'name = "app"',
        'version = "0.1"',
        f'requires-python = ">={python}"',
        "dependencies = [" + ", ".join(f'"{d}"' for d in dependencies) + "]",
    ]
    if groups:
        lines.append("[dependency-groups]")
        for name, members in groups.items():
            lines.append(f"{name} = [" + ", ".join(f'"{m}"' for m in members) + "]")
    lines += ["[tool.cloche]", f'index-url = "{index.url}"', 'targets = ["linux"]']
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n")
    (root / ".python-version").write_text(python + "\n")
    result = cloche("lock", cwd=root)
    assert result.code == 0, result
    return root / "pylock.toml"
