"""An offline ``pip compile`` of wheels imports only what it uses (start-up is most of it)."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import cloche, cloche_imports
from tests.support.index_server import IndexServer

NEVER_ON_AN_OFFLINE_COMPILE = frozenset(
    {
        "cloche.ops.prepare.trees",  # source builds: none for wheels
        "cloche.ops.prepare.build_keys",
        "cloche.adapters.index.response",  # no request is sent
        "cloche.adapters.index.credential",  # no index needs one
        "cloche.named_indexes",  # no [[tool.cloche.index]] table
        "cloche.core.target_platforms",  # no --python-platform
        "cloche.adapters.python.places",  # the running interpreter, not a scan
        "concurrent.futures.thread",  # no pool is started
        "netrc",
        "_hashlib",  # OpenSSL: cache keys use CPython's own SHA-256 (core.digests)
        "tempfile",
        "shutil",
    }
)


def _offline_compile(
    index_server: IndexServer, tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> set[str]:
    """What an offline ``pip compile ARGS`` imports, after an online one cached it all."""
    index_server.add_wheel("alpha", "1.0", requires=["beta>=1"])
    index_server.add_wheel("beta", "1.0")
    (tmp_path / "requirements.in").write_text("alpha\n")
    warm = cloche("pip", "compile", *args, "-o", "first.txt", cwd=tmp_path, env=env)
    assert warm.code == 0, warm

    result, imported = cloche_imports(
        "--offline", "pip", "compile", *args, "-o", "requirements.txt", cwd=tmp_path, env=env
    )

    assert result.code == 0, result
    assert "beta==1.0" in (tmp_path / "requirements.txt").read_text()
    assert "cloche.ops.compile" in imported  # the import lines were read
    return imported


def test_an_offline_compile_imports_only_what_it_uses(
    index_server: IndexServer, tmp_path: Path
) -> None:
    # An index option: the click command reads this command line.
    args = ("requirements.in", "--index-url", index_server.url, "--python-version", "3.11")
    imported = _offline_compile(index_server, tmp_path, *args)
    assert sorted(NEVER_ON_AN_OFFLINE_COMPILE & imported) == []


# What click and its parsing bring: the common command lines are read without it
# (cli.compile_fast).
NEVER_WITHOUT_CLICK = frozenset({"click", "gettext", "uuid", "difflib", "datetime"})


def test_a_common_offline_compile_does_not_import_click(
    index_server: IndexServer, tmp_path: Path
) -> None:
    env = {"CLOCHE_INDEX_URL": index_server.url}
    args = ("requirements.in", "--python-version", "3.11", "-q")
    imported = _offline_compile(index_server, tmp_path, *args, env=env)
    assert "cloche.cli.compile_fast" in imported
    assert sorted((NEVER_ON_AN_OFFLINE_COMPILE | NEVER_WITHOUT_CLICK) & imported) == []
