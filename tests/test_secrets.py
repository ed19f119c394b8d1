"""Secrets never reach a file: index tokens stay references, direct URLs lose their
passwords, and a mistyped configuration key is an error, not a silent fallback."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cloche.config import load_settings
from cloche.core.direct_url import direct_url_json, public_url, recorded_url
from cloche.errors import UsageError
from tests.support.cli import cloche, venv_python
from tests.support.index_server import IndexServer

SECRET = "s3cr3t-t0ken"


@pytest.fixture
def private_index(index_server: IndexServer) -> IndexServer:
    index_server.add_wheel("alpha", "1.0")
    index_server.auth = ("user", SECRET)
    return index_server


def _authed(url: str, userinfo: str) -> str:
    return url.replace("http://", f"http://{userinfo}@", 1)


def test_import_keeps_the_token_reference(tmp_path: Path, private_index: IndexServer) -> None:
    root = tmp_path / "app"
    root.mkdir()
    url = _authed(private_index.url, "user:${INDEX_TOKEN}")
    (root / "requirements.txt").write_text(f"-i {url}\nalpha\n")
    result = cloche("import", "requirements.txt", cwd=root, env={"INDEX_TOKEN": SECRET})
    assert result.code == 0, result  # the lock reached the index: expanded when used
    pyproject = (root / "pyproject.toml").read_text()
    assert f'index-url = "{url}"' in pyproject
    for name in ("pyproject.toml", "pylock.toml"):
        assert SECRET not in (root / name).read_text()
    assert SECRET not in result.out + result.err
    assert cloche("lock", cwd=root, env={"INDEX_TOKEN": SECRET}).code == 0


def test_import_takes_a_literal_password_out(tmp_path: Path, private_index: IndexServer) -> None:
    root = tmp_path / "app"
    root.mkdir()
    (root / "requirements.txt").write_text(
        f"-i {_authed(private_index.url, 'user:' + SECRET)}\nalpha\n"
    )
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login user password {SECRET}\n")
    result = cloche("import", "requirements.txt", cwd=root, env={"NETRC": str(netrc)})
    assert result.code == 0, result
    assert f'index-url = "{private_index.url}"' in (root / "pyproject.toml").read_text()
    assert "credentials for 127.0.0.1 were not written" in result.err
    assert "~/.netrc" in result.err
    assert SECRET not in (root / "pyproject.toml").read_text() + result.out + result.err


def test_public_url_keeps_references_only() -> None:
    assert public_url("https://u:pw@h/x.whl") == "https://h/x.whl"
    assert public_url("https://tok@h/x.whl") == "https://h/x.whl"
    assert public_url("https://u:${T}@h/x.whl") == "https://u:${T}@h/x.whl"
    assert public_url("git+https://tok@github.com/a/b@v1") == "git+https://github.com/a/b@v1"
    assert public_url("git+ssh://git@github.com/a/b") == "git+ssh://git@github.com/a/b"


def test_direct_url_json_holds_no_password() -> None:
    text = direct_url_json("https://user:pw@example.com/x-1.0.tar.gz", sha256="ab" * 32)
    assert "pw" not in text and json.loads(text)["url"] == "https://example.com/x-1.0.tar.gz"
    # A record an older cloche wrote with the password is shown without it.
    old = json.dumps({"url": "https://user:pw@example.com/x.tar.gz", "archive_info": {}})
    assert recorded_url(old) == ("https://example.com/x.tar.gz", False)


def test_direct_url_with_password_is_not_stored(tmp_path: Path, private_index: IndexServer) -> None:
    venv = tmp_path / "venv"
    assert cloche("venv", venv).code == 0
    url = _authed(private_index.file_url("alpha-1.0-py3-none-any.whl"), f"user:{SECRET}")
    args = ("pip", "install", "--python", venv, "--no-index", f"alpha @ {url}")
    result = cloche(*args)
    assert result.code == 0, result
    assert SECRET not in result.out + result.err
    records = list(venv.glob("lib/*/site-packages/alpha-1.0.dist-info/direct_url.json"))
    assert records and SECRET not in records[0].read_text()
    frozen = cloche("pip", "freeze", "--python", venv)
    assert "alpha @ http://127.0.0.1" in frozen.out and SECRET not in frozen.out
    again = cloche(*args)  # the recorded URL (no password) still counts as the same
    assert again.code == 0 and "Installed" not in again.err, again
    assert venv_python(venv).exists()


def test_add_refuses_a_url_with_a_password(tmp_path: Path) -> None:
    assert cloche("init", "--python", sys.executable, "app", cwd=tmp_path).code == 0
    root = tmp_path / "app"
    before = (root / "pyproject.toml").read_text()
    result = cloche("add", f"x @ https://user:{SECRET}@example.invalid/x-1.0.tar.gz", cwd=root)
    assert result.code == 2, result
    assert SECRET not in result.out + result.err
    assert "holds a password" in result.err and "${TOKEN}" in result.err
    assert (root / "pyproject.toml").read_text() == before


def test_unknown_project_key_names_the_closest() -> None:
    with pytest.raises(UsageError) as info:
        load_settings(project_table={"index_url": "https://example.invalid/simple/"}, environ={})
    assert "unknown key 'index_url' in [tool.cloche]" in str(info.value)
    assert "did you mean 'index-url'?" in str(info.value)
    # The project reader's own keys are known too.
    load_settings(project_table={"targets": ["linux"], "python": "3.12"}, environ={})


def test_unknown_user_config_key_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "cloche.toml"
    config.write_text('extra-index-urls = ["https://example.invalid/simple/"]\n')
    result = cloche("venv", tmp_path / "env", env={"CLOCHE_CONFIG_FILE": str(config)})
    assert result.code == 2, result
    assert "unknown key 'extra-index-urls'" in result.err
    assert "did you mean 'extra-index-url'?" in result.err


def test_index_url_references_are_expanded_in_memory() -> None:
    table = {"index-url": "https://u:${TOK}@example.invalid/simple/"}
    settings = load_settings(project_table=table, environ={"TOK": "abc"})
    assert settings.index_url == "https://u:abc@example.invalid/simple/"
    unset = load_settings(project_table=table, environ={})
    assert unset.index_url == "https://u:${TOK}@example.invalid/simple/"
