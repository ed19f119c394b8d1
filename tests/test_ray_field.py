"""The Ray runtime_env ``cloche`` field, read on the driver and checked on nodes (no Ray needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloche.integrations.ray_field import (
    ClocheField,
    RayFieldError,
    node_field,
    resolve_field,
)
from tests.support.index_server import IndexServer
from tests.support.locks import write_project


@pytest.fixture
def project(tmp_path: Path, index_server: IndexServer) -> Path:
    index_server.add_wheel("alpha", "1.0")
    index_server.add_wheel("tool", "1.0")
    write_project(tmp_path / "proj", index_server, ["alpha"], {"train": ["tool"]})
    return tmp_path / "proj"


def test_a_lock_path_becomes_its_text(project: Path) -> None:
    wire = resolve_field({"lock": "pylock.toml", "groups": ["train"]}, cwd=project)
    assert wire["lock_text"] == (project / "pylock.toml").read_text()
    assert wire["groups"] == ["train"] and wire["source"].endswith("pylock.toml")
    assert node_field(wire).groups == ("train",)
    assert resolve_field({"project": str(project)}) == {
        "lock_text": wire["lock_text"],
        "source": str(project / "pylock.toml"),
    }


def test_the_env_name_is_the_content_hash(project: Path) -> None:
    text = (project / "pylock.toml").read_text()
    one = ClocheField(text, "a/pylock.toml")
    assert one.uri_hash == ClocheField(text, "b/pylock.toml", cache="/x").uri_hash
    assert one.uri_hash != ClocheField(text, groups=("train",)).uri_hash
    assert one.uri_hash != ClocheField(text + "\n").uri_hash


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("pylock.toml", "must be a dict such as {'lock': 'pylock.toml'}, got str"),
        ({"lock": "pylock.toml", "pip": ["x"]}, "unknown key(s) 'pip'; expected: lock, project"),
        ({}, "give exactly one of 'lock'"),
        ({"lock": "pylock.toml", "project": "."}, "give exactly one of 'lock'"),
        ({"lock": "nope.toml"}, "nope.toml does not exist on the driver"),
        ({"project": "nowhere"}, "nowhere does not exist on the driver"),
        ({"lock": "pylock.toml", "groups": "train"}, "'groups' must be a list"),
        ({"lock": "pylock.toml", "groups": ["gpu"]}, "no dependency group 'gpu' (it has: train)"),
        ({"lock": "pylock.toml", "cache": "rel/dir"}, "'cache' must be an absolute path"),
        ({"lock": 3}, "'lock' must be a path, got int"),
    ],
)
def test_bad_fields_fail_on_the_driver_with_one_message(
    project: Path, value: object, message: str
) -> None:
    with pytest.raises(RayFieldError) as caught:
        resolve_field(value, cwd=project)
    assert str(caught.value).startswith("runtime_env['cloche']: ")
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)  # what Ray expects of validate


def test_a_lock_that_does_not_parse(tmp_path: Path) -> None:
    (tmp_path / "pylock.toml").write_text("lock-version = [oops\n")
    with pytest.raises(RayFieldError, match=r"pylock\.toml: invalid TOML"):
        resolve_field({"lock": "pylock.toml"}, cwd=tmp_path)
    (tmp_path / "pylock.toml").write_text('lock-version = "1.0"\n')
    with pytest.raises(RayFieldError, match=r"pylock\.toml"):
        resolve_field({"lock": "pylock.toml"}, cwd=tmp_path)


def test_a_lock_of_local_paths_cannot_travel(tmp_path: Path) -> None:
    (tmp_path / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "mine"\n'
        'version = "1.0"\n[[packages.wheels]]\npath = "dist/mine-1.0-py3-none-any.whl"\n'
        "hashes = {sha256 = " + '"' + "0" * 64 + '"}\n'
    )
    with pytest.raises(RayFieldError, match="'mine' comes from a local path"):
        resolve_field({"lock": "pylock.toml"}, cwd=tmp_path)


def test_a_path_that_reached_a_node_names_the_driver_hook() -> None:
    with pytest.raises(RayFieldError, match=r"RAY_RUNTIME_ENV_HOOK=cloche\.integrations"):
        node_field({"lock": "pylock.toml"})
    with pytest.raises(RayFieldError, match="'lock_text' and 'source' must be strings"):
        node_field({"lock_text": 1})
