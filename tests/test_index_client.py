"""IndexClient against a real local index: pages, negotiation, policy, find-links, credentials."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from cloche.adapters.index import IndexClient, NeedsBuild
from cloche.config import IndexStrategy, Settings
from cloche.core.models import NormalizedName, normalize
from cloche.errors import IndexResponseError, RequirementError, UsageError
from tests.support.dists import make_sdist, make_wheel
from tests.support.index_server import IndexServer


def settings(tmp_path: Path, *indexes: str, **kwargs: Any) -> Settings:
    first, *extra = indexes or ("http://127.0.0.1:9/simple/",)
    return Settings(
        cache_dir=tmp_path / "cache", index_url=first, extra_index_urls=tuple(extra), **kwargs
    )


def names(client: IndexClient, name: str) -> list[str]:
    return sorted(f.filename for f in client.files(NormalizedName(name)))


@pytest.mark.parametrize("fmt", ["json", "html", None])
def test_files_from_each_page_format(
    index_server: IndexServer, tmp_path: Path, fmt: str | None
) -> None:
    index_server.force_format = fmt
    index_server.add_wheel("Demo_Pkg", "1.0", requires_python=">=3.8")
    index_server.add_sdist("demo-pkg", "1.0")
    index_server.add_wheel("demo-pkg", "0.9", yanked="bad release")
    with IndexClient(settings(tmp_path, index_server.url)) as client:
        files = client.files(normalize("Demo.Pkg"))
    by_name = {f.filename: f for f in files}
    assert sorted(by_name) == [
        "demo_pkg-0.9-py3-none-any.whl",
        "demo_pkg-1.0-py3-none-any.whl",
        "demo_pkg-1.0.tar.gz",
    ]
    wheel = by_name["demo_pkg-1.0-py3-none-any.whl"]
    assert wheel.url == index_server.file_url(wheel.filename)
    assert wheel.index == index_server.url
    assert wheel.requires_python == SpecifierSet(">=3.8")
    assert wheel.sha256 is not None and len(wheel.sha256) == 64
    assert wheel.metadata_hashes is not None
    assert by_name["demo_pkg-0.9-py3-none-any.whl"].yanked == "bad release"
    assert by_name["demo_pkg-1.0.tar.gz"].yanked is None


def test_client_negotiates_json(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.add_wheel("demo", "1.0")
    with IndexClient(settings(tmp_path, index_server.url)) as client:
        client.files(NormalizedName("demo"))
    (request,) = index_server.requests_to("/simple/demo/")
    accept = request.headers["Accept"]
    assert accept.startswith("application/vnd.pypi.simple.v1+json")
    assert "text/html;q=0.01" in accept


def test_unknown_project_is_empty_not_an_error(index_server: IndexServer, tmp_path: Path) -> None:
    with IndexClient(settings(tmp_path, index_server.url)) as client:
        assert client.files(NormalizedName("nothing-here")) == ()


def test_first_index_wins(make_index: Callable[[], IndexServer], tmp_path: Path) -> None:
    private, public = make_index(), make_index()
    private.add_wheel("internal", "1.0")
    public.add_wheel("internal", "99.0")
    public.add_wheel("requests", "2.0")
    # The extra index (private) is searched before the default one (public), as in uv.
    with IndexClient(settings(tmp_path, public.url, private.url)) as client:
        assert names(client, "internal") == ["internal-1.0-py3-none-any.whl"]
        assert names(client, "requests") == ["requests-2.0-py3-none-any.whl"]
    assert public.requests_to("/simple/internal/") == []


def test_unsafe_best_match_merges(make_index: Callable[[], IndexServer], tmp_path: Path) -> None:
    first, second = make_index(), make_index()
    first.add_wheel("demo", "1.0")
    second.add_wheel("demo", "2.0")
    strategy = IndexStrategy.UNSAFE_BEST_MATCH
    with IndexClient(settings(tmp_path, first.url, second.url, index_strategy=strategy)) as c:
        assert names(c, "demo") == ["demo-1.0-py3-none-any.whl", "demo-2.0-py3-none-any.whl"]


def test_find_links_directory_merges_with_index(
    index_server: IndexServer, dist_dir: Path, tmp_path: Path
) -> None:
    index_server.add_wheel("demo", "1.0")
    local = make_wheel(dist_dir, "demo", "2.0", requires=["dep"])
    (dist_dir / "notes.txt").write_text("not a dist")
    (dist_dir / "demo-0.1.egg").write_text("skip me")
    with IndexClient(settings(tmp_path, index_server.url, find_links=(str(dist_dir),))) as c:
        files = c.files(NormalizedName("demo"))
        assert sorted(f.filename for f in files) == [
            "demo-1.0-py3-none-any.whl",
            "demo-2.0-py3-none-any.whl",
        ]
        (found,) = [f for f in files if f.filename == local.name]
        assert found.url == local.as_uri()
        assert found.index == str(dist_dir)
        assert [str(r) for r in c.metadata(found).requires_dist] == ["dep"]


def test_no_index_with_find_links_file_url_and_page(
    index_server: IndexServer, dist_dir: Path, tmp_path: Path
) -> None:
    make_wheel(dist_dir, "demo", "1.0")
    other = tmp_path / "other"
    wheel = make_wheel(other, "demo", "3.0")
    page = tmp_path / "links.html"
    page.write_text(f'<html><a href="{wheel.as_uri()}">demo 3</a></html>')
    index_server.add_wheel("demo", "2.0")
    locations = (dist_dir.as_uri(), str(page), index_server.url + "demo/")
    with IndexClient(settings(tmp_path, find_links=locations, no_index=True)) as client:
        assert names(client, "demo") == [
            "demo-1.0-py3-none-any.whl",
            "demo-2.0-py3-none-any.whl",
            "demo-3.0-py3-none-any.whl",
        ]


def test_file_index_tree(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    wheel = make_wheel(tmp_path / "files", "demo", "1.0")
    (root / "demo").mkdir(parents=True)
    link = f'<html><a href="{wheel.as_uri()}#sha256=00" data-yanked="">w</a></html>'
    (root / "demo" / "index.html").write_text(link)
    with IndexClient(settings(tmp_path, root.as_uri())) as client:
        (file,) = client.files(NormalizedName("demo"))
        assert file.url == wheel.as_uri()
        assert file.yanked == ""
        assert file.hashes == (("sha256", "00"),)
        assert client.files(NormalizedName("absent")) == ()


def test_missing_find_links_location(tmp_path: Path) -> None:
    s = settings(tmp_path, find_links=(str(tmp_path / "nope"),), no_index=True)
    with IndexClient(s) as client, pytest.raises(UsageError, match="does not exist"):
        client.files(NormalizedName("demo"))


def test_prefetch_then_files_reuses_the_fetch(index_server: IndexServer, tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        index_server.add_wheel(name, "1.0")
    with IndexClient(settings(tmp_path, index_server.url, concurrency=2)) as client:
        client.prefetch([NormalizedName(n) for n in ("a", "b", "c", "a")])
        for name in ("a", "b", "c"):
            assert names(client, name) == [f"{name}-1.0-py3-none-any.whl"]
        files = [client.files(NormalizedName(n))[0] for n in ("a", "b", "c")]
        client.prefetch_metadata(files)
        assert [client.metadata(f).name for f in files] == ["a", "b", "c"]
    for name in ("a", "b", "c"):
        assert len(index_server.requests_to(f"/simple/{name}/")) == 1


def test_url_credentials(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.auth = ("alice", "s3cret")
    index_server.add_wheel("demo", "1.0")
    authed = index_server.url.replace("http://", "http://alice:s3cret@")
    with IndexClient(settings(tmp_path, authed)) as client:
        (file,) = client.files(NormalizedName("demo"))
        assert client.metadata(file).name == "demo"
        path = client.download(file, tmp_path / "out")
    assert path.is_file()
    assert "s3cret" not in file.url and "alice" not in file.url
    assert "s3cret" not in file.index
    assert file.index == index_server.url


def test_netrc_credentials(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.auth = ("bob", "hunter2")
    index_server.add_wheel("demo", "1.0")
    # HOME is a per-test directory (conftest), so ~/.netrc is this test's own.
    (Path.home() / ".netrc").write_text("machine 127.0.0.1 login bob password hunter2\n")
    with IndexClient(settings(tmp_path, index_server.url)) as client:
        (file,) = client.files(NormalizedName("demo"))
    assert "hunter2" not in repr(file)


def test_netrc_env_var_overrides_the_path(
    index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_server.auth = ("carol", "pw")
    index_server.add_wheel("demo", "1.0")
    netrc = tmp_path / "my-netrc"
    netrc.write_text("machine 127.0.0.1 login carol password pw\n")
    with monkeypatch.context() as patch:
        patch.setenv("NETRC", str(netrc))
        client = IndexClient(settings(tmp_path, index_server.url))
    with client:
        assert names(client, "demo") == ["demo-1.0-py3-none-any.whl"]


def test_wrong_credentials_never_appear_in_the_error(
    index_server: IndexServer, tmp_path: Path
) -> None:
    index_server.auth = ("alice", "right")
    authed = index_server.url.replace("http://", "http://alice:wrongpass@")
    with (
        IndexClient(settings(tmp_path, authed)) as client,
        pytest.raises(IndexResponseError) as info,
    ):
        client.files(NormalizedName("demo"))
    assert "refused the credentials" in str(info.value)
    assert "wrongpass" not in str(info.value)


def test_missing_credentials_say_what_to_do(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.auth = ("alice", "right")
    with (
        IndexClient(settings(tmp_path, index_server.url)) as client,
        pytest.raises(IndexResponseError) as info,
    ):
        client.files(NormalizedName("demo"))
    assert "needs credentials" in str(info.value)


def test_direct_wheel_url(index_server: IndexServer, tmp_path: Path) -> None:
    wheel = index_server.add_wheel("demo", "1.0", requires=["dep>=2"])
    url = index_server.file_url(wheel.name)
    with IndexClient(settings(tmp_path, index_server.url)) as client:
        meta, file = client.direct_metadata(Requirement(f"demo @ {url}"))
        assert file is not None and file.url == url
        assert [str(r) for r in meta.requires_dist] == ["dep>=2"]
        meta, file = client.direct_metadata(Requirement(f"demo @ {wheel.as_uri()}"))
        assert meta.name == "demo"
        with pytest.raises(RequirementError, match="points at a wheel of demo"):
            client.direct_metadata(Requirement(f"other @ {url}"))


@pytest.mark.parametrize(
    "url",
    [
        "https://example.invalid/demo-1.0.tar.gz",
        "git+https://example.invalid/demo.git",
        "file:///tmp/some/project",
    ],
)
def test_direct_non_wheels_need_a_build(tmp_path: Path, url: str) -> None:
    with IndexClient(settings(tmp_path)) as client, pytest.raises(NeedsBuild) as info:
        client.direct_metadata(Requirement(f"demo @ {url}"))
    assert isinstance(info.value, UsageError)
    assert info.value.url == url


def test_bad_index_url_scheme(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not an http"):
        IndexClient(settings(tmp_path, "ftp://example.invalid/simple/"))


def test_local_sdist_static_and_dynamic(dist_dir: Path, tmp_path: Path) -> None:
    make_sdist(dist_dir, "static", "1.0", requires=["dep"])
    make_sdist(dist_dir, "dynamic", "1.0", requires=["dep"], dynamic=["Requires-Dist"])
    make_sdist(dist_dir, "old", "1.0", metadata_version="2.1")
    with IndexClient(settings(tmp_path, find_links=(str(dist_dir),), no_index=True)) as client:
        (static,) = client.files(NormalizedName("static"))
        assert [str(r) for r in client.metadata(static).requires_dist] == ["dep"]
        for name in ("dynamic", "old"):
            (file,) = client.files(NormalizedName(name))
            with pytest.raises(NeedsBuild) as info:
                client.metadata(file)
            assert info.value.file == file


def test_close_fails_queued_prefetches(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.delay = 0.2
    names_ = [NormalizedName(f"p{i}") for i in range(4)]
    client = IndexClient(settings(tmp_path, index_server.url, concurrency=1))
    client.prefetch(names_)
    client.close()
    outcomes = []
    for name in names_:
        try:
            outcomes.append(client.files(name) == ())
        except UsageError as exc:
            outcomes.append("closed" in str(exc))
    assert all(outcomes)


class _ChainingPick:
    """A PickFiles whose every page asks for more pages: callbacks keep submitting."""

    def __init__(self, client: IndexClient) -> None:
        self._client = client
        self._count = 0

    def __call__(self, name: NormalizedName, files: Any) -> list[Any]:
        self._count += 1
        self._client.prefetch([NormalizedName(f"{name}-{self._count}")], self)
        return []

    def on_metadata(self, file: Any, metadata: Any) -> None:
        pass


def test_close_while_callbacks_still_prefetch(
    index_server: IndexServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A failing resolve closes the client while look-ahead callbacks still submit;
    # that once printed "cannot schedule new futures after shutdown" before the error.
    index_server.delay = 0.01
    for attempt in range(5):
        client = IndexClient(settings(tmp_path / str(attempt), index_server.url, concurrency=4))
        pick = _ChainingPick(client)
        client.prefetch([NormalizedName(f"p{i}") for i in range(8)], pick)
        client.prefetch([NormalizedName(f"q{i}") for i in range(8)])
        client.close()
        client.prefetch([NormalizedName("late")], pick)  # a hint after close: dropped
    assert not [r for r in caplog.records if r.name == "concurrent.futures"]
