"""``clone_tree`` on a hand-made venv tree: what is linked, what is rewritten (always as
a new file, never through a link), what keeps its place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cloche.ops.env_clone import clone_tree

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX venv layout")


def _venv(root: Path, store: Path) -> Path:
    src = root / "envs" / "src"
    site = src / "lib" / "python3.12" / "site-packages"
    for directory in (
        src / "bin",
        site / "pkg" / "sub",
        site / "pkg-1.0.dist-info",
        src / "share" / "jupyter" / "kernels" / "src",
        store,
    ):
        directory.mkdir(parents=True, exist_ok=True)
    (src / "pyvenv.cfg").write_text(f"home = /usr/bin\nprompt = 'src'\ncommand = venv {src}\n")
    (src / "bin" / "tool").write_text(f"#!{src}/bin/python\nprint('hi')\n")
    (src / "bin" / "tool").chmod(0o755)
    (src / "bin" / "python").symlink_to("/usr/bin/python3")
    (src / "bin" / "tool-link").symlink_to(f"{src}/bin/tool")
    # From the store: linked twice already.
    (store / "module.py").write_text("X = 1\n")
    os.link(store / "module.py", site / "pkg" / "module.py")
    (store / "METADATA").write_text("Name: pkg\n")
    os.link(store / "METADATA", site / "pkg-1.0.dist-info" / "METADATA")
    # Owned by the env alone.
    (site / "pkg" / "sub" / "generated.py").write_text("Y = 2\n")
    (site / "pkg" / "paths.pth").write_text(f"{src}/extra\n")
    (site / "pkg-1.0.dist-info" / "direct_url.json").write_text(f'{{"url": "file://{src}/x"}}')
    (site / "pkg-1.0.dist-info" / "RECORD").write_text("pkg/module.py,,\n")
    (site / "editable.pth").write_text(f"{src}/src\n")
    (site / "top.py").write_bytes(b"Z = 3\n")
    kernel = src / "share" / "jupyter" / "kernels" / "src" / "kernel.json"
    kernel.write_text(f'{{"argv": ["{src}/bin/python"]}}')
    return src


def test_links_package_files_and_rewrites_what_names_the_path(tmp_path: Path) -> None:
    src = _venv(tmp_path, tmp_path / "store")
    staged, final = tmp_path / "staged", tmp_path / "envs" / "dst"
    counts = clone_tree(src, staged, final)
    site = Path("lib") / "python3.12" / "site-packages"

    def same(rel: Path | str) -> bool:
        return (src / rel).stat().st_ino == (staged / rel).stat().st_ino

    # Files in a package's directory are linked, owned or not; their text is not read.
    assert same(site / "pkg" / "module.py") and same(site / "pkg" / "sub" / "generated.py")
    assert same(site / "pkg-1.0.dist-info" / "METADATA")  # from the store
    # What names the path is a new file with the new path; the source is untouched.
    rewritten = [
        "pyvenv.cfg",
        "bin/tool",
        site / "editable.pth",
        site / "pkg" / "paths.pth",
        site / "pkg-1.0.dist-info" / "direct_url.json",
        "share/jupyter/kernels/src/kernel.json",
    ]
    for rel in rewritten:
        assert not same(rel), rel
        text = (staged / rel).read_text()
        assert str(final) in text and f"{src}/" not in text, (rel, text)
        assert f"{src}" in (src / rel).read_text()
    # Owned files that name no path are copies (never shared with the source).
    assert not same(site / "pkg-1.0.dist-info" / "RECORD") and not same(site / "top.py")
    assert (staged / "bin" / "tool").stat().st_mode & 0o777 == 0o755
    assert str((staged / "bin" / "python").readlink()) == "/usr/bin/python3"
    assert str((staged / "bin" / "tool-link").readlink()) == f"{final}/bin/tool"
    assert counts.symlinks == 2 and counts.rewritten == len(rewritten)
    assert counts.linked == 3 and counts.copied == 2


def test_a_tree_the_links_cannot_reach_is_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    src = _venv(tmp_path, tmp_path / "store")

    def no_link(*args: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    staged = tmp_path / "staged"
    counts = clone_tree(src, staged, tmp_path / "envs" / "dst")
    module = Path("lib/python3.12/site-packages/pkg/module.py")
    assert (staged / module).read_text() == "X = 1\n"
    assert (staged / module).stat().st_ino != (src / module).stat().st_ino
    assert counts.linked == 0 and counts.copied == 5


def test_another_error_is_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    src = _venv(tmp_path, tmp_path / "store")

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "link", full)
    with pytest.raises(OSError, match="No space"):
        clone_tree(src, tmp_path / "staged", tmp_path / "envs" / "dst")


def test_rewrite_in_place_after_a_build_beside_the_name(tmp_path: Path) -> None:
    from cloche.ops.env_clone import rewrite_in_place

    src = _venv(tmp_path, tmp_path / "store")
    site = src / "lib" / "python3.12" / "site-packages"
    (site / "pkg" / "from_a_wheel.py").write_text(f"# {src}\n")  # never read
    metadata = site / "pkg-1.0.dist-info" / "METADATA"
    final = tmp_path / "envs" / "final"
    count = rewrite_in_place(src, src, final)
    for path in (
        src / "pyvenv.cfg",
        src / "bin" / "tool",
        site / "editable.pth",
        site / "pkg-1.0.dist-info" / "direct_url.json",
    ):
        assert str(final) in path.read_text() and f"{src}/" not in path.read_text(), path
    assert str((src / "bin" / "tool-link").readlink()) == f"{final}/bin/tool"
    assert (site / "pkg" / "from_a_wheel.py").read_text() == f"# {src}\n"
    assert metadata.stat().st_nlink == 2  # linked from the store: left alone
    assert count == 6  # 4 files, the kernelspec and the symlink


def test_a_script_shared_by_another_link_is_still_rewritten(tmp_path: Path) -> None:
    src = _venv(tmp_path, tmp_path / "store")
    other = tmp_path / "cp-al-copy"
    other.mkdir()
    os.link(src / "bin" / "tool", other / "tool")  # as `cp -al` of the env leaves it
    staged, final = tmp_path / "staged", tmp_path / "envs" / "dst"
    clone_tree(src, staged, final)
    assert f"#!{final}/bin/python" in (staged / "bin" / "tool").read_text()
    assert (staged / "bin" / "tool").stat().st_ino != (src / "bin" / "tool").stat().st_ino
    assert f"#!{src}/bin/python" in (other / "tool").read_text()
