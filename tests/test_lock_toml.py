"""The fast pylock.toml writer writes exactly what tomlkit writes, or leaves it to tomlkit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from cloche.core.lock.toml_writer import _NotPlain, _plain_toml, _tomlkit_toml


def _package(name: str, version: str, **extra: Any) -> dict[str, Any]:
    wheel = {
        "upload-time": datetime(2025, 7, 26, 12, 1, 2, 277321, tzinfo=UTC),
        "url": f"https://files.test/{name}-{version}-py3-none-any.whl",
        "size": 1234,
        "hashes": {"sha256": "ab" * 32, "md5": "cd" * 16},
    }
    return {
        "name": name,
        "version": version,
        "marker": 'sys_platform == "linux"',
        "requires-python": ">=3.11",
        "dependencies": [{"name": "numpy"}, {"name": "six", "version": "1.0"}],
        "index": f"https://pypi.test/simple/{name}/",
        "sdist": {
            "upload-time": datetime(2026, 11, 18, 10, 27, 18, tzinfo=UTC),
            "url": f"https://files.test/{name}-{version}.tar.gz",
            "size": 22576,
            "hashes": {"sha256": "ef" * 32},
        },
        "wheels": [wheel, dict(wheel, size=99)],
        **extra,
    }


def _lock(**extra: Any) -> dict[str, Any]:
    return {
        "lock-version": "1.0",
        "environments": ['sys_platform == "darwin"', 'sys_platform == "linux"'],
        "requires-python": ">=3.11",
        "extras": [],
        "dependency-groups": ["dev"],
        "default-groups": [],
        "created-by": "cloche",
        "packages": [
            _package("zeta", "1.0"),
            _package("alpha", "2.0", wheels=[]),
            _package("alpha", "10.0", marker="python_version < '3.12'"),
        ],
        "tool": {"cloche": {"inputs-hash": "00" * 32, "targets": ["linux", "macos"]}},
        **extra,
    }


@pytest.mark.parametrize(
    "data",
    [
        _lock(),
        _lock(extras=["a"], environments=['os_name == "nt"']),
        _lock(archive={"path": "x.whl", "editable": True, "subdirectory": "sub"}),
    ],
)
def test_plain_writer_matches_tomlkit(data: dict[str, Any]) -> None:
    assert _plain_toml(data) == _tomlkit_toml(data)


@pytest.mark.parametrize(
    "data",
    [
        _lock(packages=[]),
        _lock(**{"created-by": "back\\slash"}),
        _lock(**{"created-by": "café"}),
        _lock(**{"created-by": "both \" and '"}),
        _lock(tool={}),
        _lock(tool={"other": {"x": "y"}}),
        _lock(tool={"cloche": {"nested": {"x": "y"}}}),
        _lock(when=datetime(2020, 1, 1, tzinfo=timezone(timedelta(hours=2)))),
        _lock(ratio=0.5),
        _lock(nested=[["a", "b"]]),
    ],
)
def test_plain_writer_leaves_the_rest_to_tomlkit(data: dict[str, Any]) -> None:
    with pytest.raises(_NotPlain):
        _plain_toml(data)
