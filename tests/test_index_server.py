"""The test index and the dist builders that the rest of the suite stands on."""

from __future__ import annotations

import base64
import email.parser
import hashlib
import json
import subprocess
import sys
import tarfile
import threading
import zipfile
from collections.abc import Callable, Mapping, Sequence
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from installer.sources import WheelFile
from pyproject_hooks import BuildBackendHookCaller

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

from tests.support.dists import make_sdist, make_source_tree, make_wheel
from tests.support.index_server import IndexServer

JSON = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open = dict(attrs)

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.anchors.append((self._open, data))
            self._open = None


def anchors(page: str) -> dict[str, dict[str, str | None]]:
    """filename -> attributes of its anchor (attribute values unescaped by the parser)."""
    parser = _Anchors()
    parser.feed(page)
    return {text: attrs for attrs, text in parser.anchors}


def parse_metadata(data: bytes) -> Message:
    return email.parser.BytesParser().parsebytes(data)


def wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        return parse_metadata(zf.read(name))


# -- dists ---------------------------------------------------------------------


def test_wheel_is_valid_and_carries_metadata(dist_dir: Path) -> None:
    wheel = make_wheel(
        dist_dir,
        "Foo.Bar",
        "1.2.0",
        requires=["attrs>=21", "colorama; sys_platform == 'win32'"],
        requires_python=">=3.9",
        extras={"test": ["pytest>=7", "tomli; python_version < '3.11'"]},
        entry_points={"console_scripts": {"foo": "foo_bar.cli:main"}},
        data={"scripts/tool": "#!python\nprint('hi')\n"},
    )
    assert wheel.name == "foo_bar-1.2.0-py3-none-any.whl"
    with WheelFile.open(wheel) as source:
        source.validate_record()
        assert source.dist_info_dir == "foo_bar-1.2.0.dist-info"
        paths = {record[0] for record, _, _ in source.get_contents()}
        entry_points = source.read_dist_info("entry_points.txt")
    assert "foo_bar/__init__.py" in paths
    assert "foo_bar-1.2.0.data/scripts/tool" in paths
    assert "foo = foo_bar.cli:main" in entry_points

    meta = wheel_metadata(wheel)
    assert meta["Name"] == "Foo.Bar"
    assert meta["Version"] == "1.2.0"
    assert meta["Requires-Python"] == ">=3.9"
    assert meta.get_all("Provides-Extra") == ["test"]
    assert meta.get_all("Requires-Dist") == [
        "attrs>=21",
        "colorama; sys_platform == 'win32'",
        'pytest>=7; extra == "test"',
        "tomli; (python_version < '3.11') and extra == \"test\"",
    ]


def test_wheel_tags_build_tag_and_custom_files(dist_dir: Path) -> None:
    wheel = make_wheel(
        dist_dir,
        "native",
        "2.0",
        tag="cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
        build_tag="1",
        files={"native/__init__.py": "", "native/_ext.so": b"\x7fELF"},
        metadata_version="2.3",
    )
    assert wheel.name == "native-2.0-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    with WheelFile.open(wheel) as source:
        source.validate_record()
        wheel_text = source.read_dist_info("WHEEL")
    assert "Root-Is-Purelib: false" in wheel_text
    assert "Tag: cp311-cp311-manylinux2014_x86_64" in wheel_text
    assert "Build: 1" in wheel_text
    assert wheel_metadata(wheel)["Metadata-Version"] == "2.3"


def test_dists_are_byte_reproducible(tmp_path: Path) -> None:
    for builder in (make_wheel, make_sdist):
        first = builder(tmp_path / "a", "same", "1.0", requires=["x"]).read_bytes()
        second = builder(tmp_path / "b", "same", "1.0", requires=["x"]).read_bytes()
        assert first == second


def test_sdist_layout_and_pkg_info(dist_dir: Path) -> None:
    sdist = make_sdist(
        dist_dir,
        "My_Pkg",
        "0.3",
        requires=["six"],
        dynamic=["Requires-Dist"],
        build_requires=["setuptools>=40"],
    )
    assert sdist.name == "my_pkg-0.3.tar.gz"
    with tarfile.open(sdist) as tf:
        names = tf.getnames()
        pkg_info = parse_metadata(tf.extractfile("my_pkg-0.3/PKG-INFO").read())  # type: ignore[union-attr]
        pyproject = tomllib.loads(tf.extractfile("my_pkg-0.3/pyproject.toml").read().decode())  # type: ignore[union-attr]
    assert {n.split("/")[0] for n in names} == {"my_pkg-0.3"}
    assert "my_pkg-0.3/my_pkg/__init__.py" in names
    assert pkg_info["Metadata-Version"] == "2.2"
    assert pkg_info.get_all("Dynamic") == ["Requires-Dist"]
    assert pkg_info.get_all("Requires-Dist") == ["six"]
    assert pyproject["build-system"]["requires"] == ["setuptools>=40"]
    assert pyproject["build-system"]["backend-path"] == ["_backend"]
    assert pyproject["project"]["dynamic"] == ["dependencies"]
    assert "dependencies" not in pyproject["project"]


def _hooks(project: Path, stderr: list[str] | None = None) -> BuildBackendHookCaller:
    system = tomllib.loads((project / "pyproject.toml").read_text())["build-system"]

    def runner(
        cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None
    ) -> None:
        import os

        env = {**os.environ, **(extra_environ or {})}
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        if stderr is not None:
            stderr.append(done.stderr)
        done.check_returncode()

    return BuildBackendHookCaller(
        str(project),
        system["build-backend"],
        backend_path=system["backend-path"],
        python_executable=sys.executable,
        runner=runner,
    )


def _unpack(sdist: Path, into: Path) -> Path:
    with tarfile.open(sdist) as tf:
        tf.extractall(into, filter="data")
    (top,) = into.iterdir()
    return top


@pytest.mark.parametrize("build_requires", [(), ("nothing-installed-here>=1",)])
def test_sdist_builds_wheel_with_same_metadata(
    tmp_path: Path, build_requires: tuple[str, ...]
) -> None:
    sdist = make_sdist(
        tmp_path / "sdists",
        "built-pkg",
        "1.0",
        requires=["attrs"],
        requires_python=">=3.8",
        extras={"fast": ["orjson"]},
        files={"built_pkg/__init__.py": "X = 1\n", "built_pkg/data.txt": "hello"},
        build_requires=build_requires,
    )
    project = _unpack(sdist, tmp_path / "src")
    hooks = _hooks(project)
    assert hooks.get_requires_for_build_wheel() == []

    meta_dir = tmp_path / "meta"
    meta_dir.mkdir()
    dist_info = hooks.prepare_metadata_for_build_wheel(str(meta_dir))
    prepared = parse_metadata((meta_dir / dist_info / "METADATA").read_bytes())

    out = tmp_path / "wheels"
    out.mkdir()
    wheel = out / hooks.build_wheel(str(out))
    with WheelFile.open(wheel) as source:
        source.validate_record()
        paths = {record[0] for record, _, _ in source.get_contents()}
    assert {"built_pkg/__init__.py", "built_pkg/data.txt"} <= paths
    assert not any(p.startswith(("_backend", "pyproject.toml", "PKG-INFO")) for p in paths)
    built = wheel_metadata(wheel)
    for meta in (built, prepared):
        assert meta["Name"] == "built-pkg"
        assert meta["Requires-Python"] == ">=3.8"
        assert meta.get_all("Requires-Dist") == ["attrs", 'orjson; extra == "fast"']
        assert meta.get_all("Provides-Extra") == ["fast"]


def test_failing_sdist_build_reports_on_stderr(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path, "broken", "1.0", fail_build=True)
    project = _unpack(sdist, tmp_path / "src")
    stderr: list[str] = []
    hooks = _hooks(project, stderr)
    out = tmp_path / "wheels"
    out.mkdir()
    with pytest.raises(subprocess.CalledProcessError):
        hooks.build_wheel(str(out))
    assert "cloche-test-build-failure" in stderr[-1]
    assert list(out.iterdir()) == []
    # Metadata still prepares: only the build itself fails.
    assert hooks.prepare_metadata_for_build_wheel(str(tmp_path)) == "broken-1.0.dist-info"


def test_source_tree_builds_editable_and_sdist(tmp_path: Path) -> None:
    project = make_source_tree(tmp_path, "Edit.Me", "0.1", requires=["click"])
    assert project == tmp_path / "edit_me-0.1"
    assert (project / "edit_me" / "__init__.py").read_text() == "__version__ = '0.1'\n"
    hooks = _hooks(project)
    out = tmp_path / "out"
    out.mkdir()
    editable = out / hooks.build_editable(str(out))
    with WheelFile.open(editable) as source:
        source.validate_record()
        contents = {record[0]: stream.read() for record, stream, _ in source.get_contents()}
    (pth,) = [p for p in contents if p.endswith(".pth")]
    assert contents[pth].decode().strip() == str(project)
    assert wheel_metadata(editable).get_all("Requires-Dist") == ["click"]

    sdist = out / hooks.build_sdist(str(out))
    assert sdist.name == "edit_me-0.1.tar.gz"
    with tarfile.open(sdist) as tf:
        assert "edit_me-0.1/edit_me/__init__.py" in tf.getnames()


# -- index: pages ------------------------------------------------------------------


def test_html_project_page(index_server: IndexServer) -> None:
    wheel = index_server.add_wheel("Foo", "1.0", requires_python="<4,>=3.8")
    index_server.add_sdist("foo", "1.1", yanked=True)
    index_server.add_sdist("foo", "0.9", yanked='bad "build" <3')
    response = httpx.get(index_server.url + "foo/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html"
    assert 'data-requires-python="&lt;4,&gt;=3.8"' in response.text
    links = anchors(response.text)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    whl = links["foo-1.0-py3-none-any.whl"]
    assert whl["href"] == f"../../files/foo-1.0-py3-none-any.whl#sha256={digest}"
    assert whl["data-requires-python"] == "<4,>=3.8"
    assert "data-yanked" not in whl
    assert whl["data-core-metadata"] == whl["data-dist-info-metadata"]
    assert links["foo-1.1.tar.gz"]["data-yanked"] == ""
    assert links["foo-0.9.tar.gz"]["data-yanked"] == 'bad "build" <3'
    assert "data-core-metadata" not in links["foo-1.1.tar.gz"]
    # Relative links resolve to a downloadable file with that hash.
    file_url = response.url.join(str(whl["href"]).split("#")[0])
    assert hashlib.sha256(httpx.get(file_url).content).hexdigest() == digest


def test_json_project_page(index_server: IndexServer) -> None:
    wheel = index_server.add_wheel("foo", "1.0", requires_python=">=3.8")
    index_server.add_sdist("foo", "1.0")
    index_server.add_wheel("foo", "2.0", yanked="broken")
    index_server.add_wheel("foo", "2.1", yanked=True)
    response = httpx.get(index_server.url + "foo/", headers={"Accept": JSON})
    assert response.headers["content-type"] == JSON
    doc = response.json()
    assert doc["meta"] == {"api-version": "1.1"}
    assert doc["name"] == "foo"
    assert doc["versions"] == ["1.0", "2.0", "2.1"]
    files = {f["filename"]: f for f in doc["files"]}
    whl = files["foo-1.0-py3-none-any.whl"]
    assert whl["hashes"] == {"sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}
    assert whl["size"] == wheel.stat().st_size
    assert whl["requires-python"] == ">=3.8"
    assert whl["yanked"] is False
    assert whl["upload-time"].endswith("Z")
    assert whl["core-metadata"] == whl["dist-info-metadata"]
    assert "core-metadata" not in files["foo-1.0.tar.gz"]
    assert files["foo-2.0-py3-none-any.whl"]["yanked"] == "broken"
    assert files["foo-2.1-py3-none-any.whl"]["yanked"] is True
    file_response = httpx.get(response.url.join(whl["url"]))
    assert file_response.content == wheel.read_bytes()


def test_absolute_urls_switch(index_server: IndexServer) -> None:
    index_server.absolute_urls = True
    index_server.add_wheel("foo", "1.0+cu121")
    doc = httpx.get(index_server.url + "foo/", headers={"Accept": JSON}).json()
    url = doc["files"][0]["url"]
    assert url == f"{index_server.root_url}/files/foo-1.0%2Bcu121-py3-none-any.whl"
    assert httpx.get(url).status_code == 200


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/html"),
        ("*/*", "text/html"),
        (JSON, JSON),
        (HTML_V1, HTML_V1),
        ("text/html", "text/html"),
        (f"{JSON};q=0.5, {HTML_V1};q=0.9", HTML_V1),
        (f"{JSON}, {HTML_V1};q=0.1, text/html;q=0.01", JSON),
        (f"text/html;q=0.2, {JSON};q=0.2", "text/html"),
        (f"{JSON};q=0, text/html;q=0.1", "text/html"),
        ("application/xml", None),
    ],
)
def test_negotiation(index_server: IndexServer, accept: str | None, expected: str | None) -> None:
    index_server.add_wheel("foo", "1.0")
    headers = {"Accept": accept} if accept else {}
    with httpx.Client() as client:
        if accept is None:
            del client.headers["Accept"]
        response = client.get(index_server.url + "foo/", headers=headers)
    if expected is None:
        assert response.status_code == 406
    else:
        assert response.headers["content-type"] == expected
        assert response.headers["vary"] == "Accept"


def test_force_format(index_server: IndexServer) -> None:
    index_server.add_wheel("foo", "1.0")
    index_server.force_format = "json"
    assert httpx.get(index_server.url + "foo/").headers["content-type"] == JSON
    index_server.force_format = "html"
    response = httpx.get(index_server.url + "foo/", headers={"Accept": JSON})
    assert response.headers["content-type"] == "text/html"


def test_root_listing(index_server: IndexServer) -> None:
    index_server.add_wheel("Zeta_Pkg", "1.0")
    index_server.add_wheel("alpha", "1.0")
    doc = httpx.get(index_server.url, headers={"Accept": JSON}).json()
    assert doc == {
        "meta": {"api-version": "1.1"},
        "projects": [{"name": "alpha"}, {"name": "zeta-pkg"}],
    }
    page = httpx.get(index_server.url).text
    parser = _Anchors()
    parser.feed(page)
    assert [(a["href"], text) for a, text in parser.anchors] == [
        ("alpha/", "alpha"),
        ("zeta-pkg/", "zeta-pkg"),
    ]


def test_unknown_project_and_redirects(index_server: IndexServer) -> None:
    index_server.add_wheel("foo-bar", "1.0")
    assert httpx.get(index_server.url + "nope/").status_code == 404
    for spelling in ("Foo_Bar/", "foo.bar/", "foo-bar"):
        response = httpx.get(index_server.url + spelling)
        assert response.status_code == 301
        assert response.headers["location"] == "/simple/foo-bar/"
    assert httpx.get(index_server.url + "FOO_bar/", follow_redirects=True).status_code == 200


def test_metadata_files(index_server: IndexServer) -> None:
    wheel = index_server.add_wheel("foo", "1.0", requires=["bar>=2"])
    doc = httpx.get(index_server.url + "foo/", headers={"Accept": JSON}).json()
    (entry,) = doc["files"]
    response = httpx.get(index_server.file_url(wheel.name) + ".metadata")
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == entry["core-metadata"]["sha256"]
    assert parse_metadata(response.content).get_all("Requires-Dist") == ["bar>=2"]

    index_server.serve_metadata_files = False
    assert httpx.get(index_server.file_url(wheel.name) + ".metadata").status_code == 404
    index_server.advertise_metadata = False
    doc = httpx.get(index_server.url + "foo/", headers={"Accept": JSON}).json()
    assert "core-metadata" not in doc["files"][0]
    assert "dist-info-metadata" not in doc["files"][0]
    assert "data-core-metadata" not in httpx.get(index_server.url + "foo/").text


def test_add_copies_and_overrides_requires_python(
    index_server: IndexServer, dist_dir: Path
) -> None:
    wheel = make_wheel(dist_dir, "foo", "1.0", requires_python=">=3.6")
    index_server.add(wheel, requires_python=">=3.10")
    assert (index_server.files_dir / wheel.name).read_bytes() == wheel.read_bytes()
    doc = httpx.get(index_server.url + "foo/", headers={"Accept": JSON}).json()
    assert doc["files"][0]["requires-python"] == ">=3.10"
    index_server.add(make_sdist(dist_dir, "foo", "1.1", requires_python="<4"))
    doc = httpx.get(index_server.url + "foo/", headers={"Accept": JSON}).json()
    assert doc["files"][1]["requires-python"] == "<4"


# -- index: files, ranges, caching -------------------------------------------------------


def test_range_reads_and_head(index_server: IndexServer) -> None:
    wheel = index_server.add_wheel("foo", "1.0")
    data = wheel.read_bytes()
    url = index_server.file_url(wheel.name)
    head = httpx.head(url)
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(data))
    assert head.headers["accept-ranges"] == "bytes"
    assert head.content == b""

    ranged = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206
    assert ranged.content == data[10:20]
    assert ranged.headers["content-range"] == f"bytes 10-19/{len(data)}"
    tail = httpx.get(url, headers={"Range": "bytes=-22"})
    assert tail.status_code == 206
    assert tail.content == data[-22:]
    assert tail.headers["content-range"] == f"bytes {len(data) - 22}-{len(data) - 1}/{len(data)}"
    assert httpx.get(url, headers={"Range": "bytes=5-"}).content == data[5:]
    beyond = httpx.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"

    index_server.support_range = False
    full = httpx.get(url, headers={"Range": "bytes=-22"})
    assert full.status_code == 200
    assert full.content == data
    assert "accept-ranges" not in full.headers


def test_missing_file_is_404(index_server: IndexServer) -> None:
    assert httpx.get(index_server.file_url("nope-1.0.tar.gz")).status_code == 404
    assert httpx.get(index_server.root_url + "/files/..%2Fescape").status_code == 404


def test_etag_and_last_modified(index_server: IndexServer) -> None:
    index_server.add_wheel("foo", "1.0")
    index_server.cache_control = "max-age=600"
    first = httpx.get(index_server.url + "foo/", headers={"Accept": JSON})
    etag = first.headers["etag"]
    last_modified = first.headers["last-modified"]
    assert first.headers["cache-control"] == "max-age=600"
    assert (
        httpx.get(
            index_server.url + "foo/", headers={"If-None-Match": etag, "Accept": JSON}
        ).status_code
        == 304
    )
    # Another format is another representation: its ETag differs.
    assert httpx.get(index_server.url + "foo/", headers={"If-None-Match": etag}).status_code == 200
    assert (
        httpx.get(
            index_server.url + "foo/", headers={"If-Modified-Since": last_modified}
        ).status_code
        == 304
    )

    index_server.add_wheel("foo", "1.1")
    changed = httpx.get(index_server.url + "foo/", headers={"If-None-Match": etag, "Accept": JSON})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert (
        httpx.get(
            index_server.url + "foo/", headers={"If-Modified-Since": last_modified}
        ).status_code
        == 200
    )

    index_server.send_etag = False
    plain = httpx.get(index_server.url + "foo/", headers={"If-None-Match": changed.headers["etag"]})
    assert plain.status_code == 200
    assert "etag" not in plain.headers
    assert "last-modified" not in plain.headers


# -- index: failure switches ----------------------------------------------------------------


def test_status_overrides_and_garbage(index_server: IndexServer) -> None:
    wheel = index_server.add_wheel("foo", "1.0")
    index_server.status_overrides["/simple/foo/"] = 503
    index_server.status_overrides[f"/files/{wheel.name}"] = 500
    response = httpx.get(index_server.url + "foo/")
    assert response.status_code == 503
    assert response.content == b""
    assert httpx.get(index_server.file_url(wheel.name)).status_code == 500

    index_server.status_overrides.clear()
    index_server.garbage.add("/simple/foo/")
    junk = httpx.get(index_server.url + "foo/", headers={"Accept": JSON})
    assert junk.status_code == 200
    assert junk.headers["content-type"] == JSON
    with pytest.raises(json.JSONDecodeError):
        json.loads(junk.content)


def test_basic_auth(index_server: IndexServer) -> None:
    wheel = index_server.add_wheel("foo", "1.0")
    index_server.auth = ("user", "s3cret")
    denied = httpx.get(index_server.url + "foo/")
    assert denied.status_code == 401
    assert denied.headers["www-authenticate"].startswith("Basic")
    assert httpx.get(index_server.url + "foo/", auth=("user", "wrong")).status_code == 401
    assert httpx.get(index_server.url + "foo/", auth=("user", "s3cret")).status_code == 200
    assert httpx.get(index_server.file_url(wheel.name), auth=("user", "s3cret")).status_code == 200
    token = base64.b64encode(b"user:s3cret").decode()
    assert index_server.requests[-1].headers["authorization"] == f"Basic {token}"


def test_delay_makes_clients_time_out(index_server: IndexServer) -> None:
    index_server.add_wheel("foo", "1.0")
    index_server.delay = 30.0
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(index_server.url + "foo/", timeout=0.2)
    # close() must not wait for the delayed answer (checked by the fixture's teardown).


def test_requests_are_recorded(index_server: IndexServer) -> None:
    index_server.add_wheel("foo", "1.0")
    httpx.get(index_server.url + "foo/?x=1", headers={"Accept": JSON, "X-Probe": "yes"})
    httpx.head(index_server.url + "foo/")
    first, second = index_server.requests
    assert (first.method, first.path) == ("GET", "/simple/foo/?x=1")
    assert first.headers["X-Probe"] == "yes"
    assert first.headers["accept"] == JSON
    assert second.method == "HEAD"
    assert len(index_server.requests_to("/simple/foo/")) == 2


def test_concurrent_clients(index_server: IndexServer) -> None:
    wheels = [index_server.add_wheel(f"pkg{i}", "1.0") for i in range(8)]
    errors: list[BaseException] = []

    def fetch(wheel: Path) -> None:
        try:
            with httpx.Client() as client:
                for _ in range(5):
                    name = wheel.name.split("-")[0]
                    assert client.get(index_server.url + f"{name}/").status_code == 200
                    assert (
                        client.get(index_server.file_url(wheel.name)).content == wheel.read_bytes()
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=fetch, args=(w,)) for w in wheels]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(index_server.requests) == 8 * 5 * 2


def test_make_index_gives_independent_servers(make_index: Callable[[], IndexServer]) -> None:
    first, second = make_index(), make_index()
    assert first.url != second.url
    first.add_wheel("only-here", "1.0")
    assert httpx.get(first.url + "only-here/").status_code == 200
    assert httpx.get(second.url + "only-here/").status_code == 404


def test_close_releases_port_with_open_keepalive() -> None:
    server = IndexServer()
    server.add_wheel("foo", "1.0")
    client = httpx.Client()
    assert client.get(server.url + "foo/").status_code == 200
    server.close()
    server.close()
    assert not server.files_dir.exists()
    with pytest.raises(httpx.TransportError):
        client.get(server.url + "foo/")
    client.close()
