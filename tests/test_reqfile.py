from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cloche.core.requirements.file import (
    RequirementsFile,
    logical_lines,
    merge,
    parse_requirement,
    parse_requirements_file,
)
from cloche.errors import RequirementError

SHA_A = "a" * 64
SHA_B = "b" * 64


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Work inside tmp_path so origins read as relative paths."""
    # A context, so the cwd is back before conftest's no_leaks check runs.
    with monkeypatch.context() as patch:
        patch.chdir(tmp_path)
        yield tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def parse(
    text: str,
    name: str = "requirements.in",
    *,
    environ: dict[str, str] | None = None,
    constraint: bool = False,
) -> RequirementsFile:
    write(Path(name), text)
    return parse_requirements_file(Path(name), environ=environ or {}, constraint=constraint)


def reqs(result: RequirementsFile) -> list[str]:
    return [str(r.requirement) for r in result.requirements]


def error_of(text: str, name: str = "requirements.in") -> str:
    with pytest.raises(RequirementError) as info:
        parse(text, name)
    return str(info.value)


# --- plain lines, comments, continuations -------------------------------------------------


def test_plain_requirements_with_markers_extras_and_origins(here: Path) -> None:
    result = parse(
        "# a comment\n"
        "\n"
        'numpy>=1.26 ; python_version < "3.13"\n'
        "pandas[performance,excel]==2.2.3  # trailing comment\n"
    )
    assert reqs(result) == [
        'numpy>=1.26; python_version < "3.13"',
        "pandas[excel,performance]==2.2.3",
    ]
    assert [r.origin for r in result.requirements] == ["requirements.in:3", "requirements.in:4"]
    assert result.sources == (here / "requirements.in",)
    assert result.constraints == ()
    assert not result.pre and not result.no_index and not result.require_hashes


def test_continuations_comments_and_hashes(here: Path) -> None:
    result = parse(
        "numpy==2.1.0 \\\n"
        f"    --hash=sha256:{SHA_A.upper()} \\\n"
        f"    --hash sha256:{SHA_B}\n"
        "# between \\\n"
        "scipy\\\n"
        ">=1.0\n"
    )
    numpy, scipy = result.requirements
    assert numpy.hashes == (("sha256", SHA_A), ("sha256", SHA_B))
    assert numpy.origin == "requirements.in:1"
    assert str(scipy.requirement) == "scipy>=1.0"
    assert scipy.origin == "requirements.in:5"


def test_hash_fragment_in_url_is_not_a_comment(here: Path) -> None:
    result = parse(f"https://host/p/foo-2.0.tar.gz#sha256={SHA_A} # real comment\n")
    assert reqs(result) == [f"foo @ https://host/p/foo-2.0.tar.gz#sha256={SHA_A}"]


def test_comment_line_ends_a_continuation() -> None:
    lines = list(logical_lines("foo \\\n# note\nbar\nlast \\\n"))
    assert lines == [(1, "foo"), (3, "bar"), (4, "last")]


def test_utf8_bom_is_ignored(here: Path) -> None:
    Path("r.txt").write_bytes(b"\xef\xbb\xbfnumpy\n")
    assert reqs(parse_requirements_file(Path("r.txt"))) == ["numpy"]


# --- environment variables ---------------------------------------------------------------


def test_env_vars_expand_only_braced_upper_names(here: Path) -> None:
    result = parse(
        "-i https://${USER_1}:${TOKEN}@host/simple\n--extra-index-url https://$TOKEN/${lower}/${MISSING}\n",
        environ={"USER_1": "me", "TOKEN": "s3cret", "lower": "x"},
    )
    assert result.index_url == "https://me:s3cret@host/simple"
    assert result.extra_index_urls == ("https://$TOKEN/${lower}/${MISSING}",)


def test_env_vars_default_to_process_environment(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(Path("r.txt"), "foo==${PKG_VERSION}\n")
    with monkeypatch.context() as patch:
        patch.setenv("PKG_VERSION", "1.2")
        assert reqs(parse_requirements_file(Path("r.txt"))) == ["foo==1.2"]


# --- options ------------------------------------------------------------------------------


def test_index_options(here: Path) -> None:
    (here / "wheels").mkdir()
    result = parse(
        "-i https://first/simple\n"
        "--index-url=https://second/simple\n"
        "--extra-index-url https://extra/simple\n"
        "--extra-index-url https://extra/simple\n"
        "-f ./wheels\n"
        "--find-links=https://host/links/\n"
        "-f/abs/dir\n"
        "--no-index\n"
        "--pre --prefer-binary\n"
        "--require-hashes\n"
    )
    assert result.index_url == "https://second/simple"
    assert result.extra_index_urls == ("https://extra/simple",)
    assert result.find_links == (str(here / "wheels"), "https://host/links/", "/abs/dir")
    assert result.no_index and result.pre and result.require_hashes
    assert result.requirements == ()


def test_find_links_relative_to_the_including_file(here: Path) -> None:
    write(here / "sub" / "base.in", "-f wheels\n")
    result = parse("-r sub/base.in\n")
    assert result.find_links == (str(here / "sub" / "wheels"),)


@pytest.mark.parametrize(
    ("lines", "only", "no"),
    [
        (["--only-binary :all:"], {":all:"}, set()),
        (["--only-binary numpy,Scikit_Learn"], {"numpy", "scikit-learn"}, set()),
        (["--no-binary torch", "--only-binary torch"], {"torch"}, set()),
        (["--no-binary foo", "--only-binary :all:"], {":all:"}, set()),
        (["--only-binary :all:", "--no-binary foo"], {":all:"}, {"foo"}),
        (["--only-binary a", "--only-binary :none:,b"], {"b"}, set()),
        (["--no-binary=:all:"], set(), {":all:"}),
    ],
)
def test_binary_options(here: Path, lines: list[str], only: set[str], no: set[str]) -> None:
    result = parse("\n".join(lines) + "\n")
    assert result.only_binary == only
    assert result.no_binary == no


# --- includes -----------------------------------------------------------------------------


def test_requirement_and_constraint_includes(here: Path) -> None:
    write(here / "reqs" / "base.in", "numpy\n-c ../constraints.txt\n")
    write(here / "constraints.txt", "numpy<2\n-r more-constraints.txt\n")
    write(here / "more-constraints.txt", "pandas==2.2.3\n")
    result = parse("-r reqs/base.in\n-rreqs/base.in\nscipy\n")
    assert reqs(result) == ["numpy", "numpy", "scipy"]
    assert [r.origin for r in result.requirements] == [
        "reqs/base.in:1",
        "reqs/base.in:1",
        "requirements.in:3",
    ]
    assert [str(c.requirement) for c in result.constraints] == ["numpy<2", "pandas==2.2.3"] * 2
    assert [c.origin for c in result.constraints[:2]] == [
        "constraints.txt:1",
        "more-constraints.txt:1",
    ]
    assert result.sources == (
        here / "requirements.in",
        here / "reqs" / "base.in",
        here / "constraints.txt",
        here / "more-constraints.txt",
    )


def test_constraint_file_parsed_directly(here: Path) -> None:
    result = parse("numpy<2\n-i https://idx/simple\n", name="c.txt", constraint=True)
    assert result.requirements == ()
    assert [str(c.requirement) for c in result.constraints] == ["numpy<2"]
    assert result.index_url == "https://idx/simple"


def test_include_cycle_is_an_error(here: Path) -> None:
    write(here / "b.in", "-r a.in\n")
    write(here / "a.in", "numpy\n-r b.in\n")
    message = error_of("-r a.in\n", name="main.in")
    assert (
        message == "b.in:1: requirements files include each other: main.in -> a.in -> b.in -> a.in"
    )


def test_file_including_itself(here: Path) -> None:
    assert "requirements.in:1: requirements files include each other" in error_of(
        "-c ./requirements.in\n"
    )


def test_missing_files(here: Path) -> None:
    with pytest.raises(RequirementError, match=r"^requirements file not found: nope\.txt$"):
        parse_requirements_file(Path("nope.txt"))
    assert error_of("\n-r sub/missing.in\n") == (
        "requirements.in:2: requirements file not found: sub/missing.in"
    )


def test_directory_and_binary_file_are_errors(here: Path) -> None:
    (here / "d").mkdir()
    with pytest.raises(RequirementError, match="d is a directory, not a requirements file"):
        parse_requirements_file(Path("d"))
    Path("bin.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(RequirementError, match=r"bin\.txt is not UTF-8 text"):
        parse_requirements_file(Path("bin.txt"))


def test_absolute_path_outside_cwd_is_shown_absolute(tmp_path: Path) -> None:
    path = write(tmp_path / "r.txt", "numpy\n")
    result = parse_requirements_file(path, environ={})
    assert result.requirements[0].origin == f"{path}:1"


# --- editables, URLs, paths ---------------------------------------------------------------


def test_editable_directory_and_vcs(here: Path) -> None:
    write(here / "proj" / "pyproject.toml", '[project]\nname = "My_Proj"\nversion = "1"\n')
    result = parse("-e ./proj\n--editable=proj[dev]\n-e git+https://github.com/o/r@v1#egg=rr\n")
    first, second, vcs = result.requirements
    assert first.editable and second.editable and vcs.editable
    assert str(first.requirement) == f"My_Proj @ {(here / 'proj').as_uri()}"
    assert str(second.requirement) == f"My_Proj[dev] @ {(here / 'proj').as_uri()}"
    assert str(vcs.requirement) == "rr @ git+https://github.com/o/r@v1#egg=rr"


def test_url_names(here: Path) -> None:
    result = parse(
        "https://host/numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.whl\n"
        "https://host/Foo_Bar-1.0.tar.gz ; python_version >= '3.10'\n"
        "git+https://github.com/o/r@v1#egg=name\n"
        "git+ssh://git@github.com/o/r.git@main#egg=other&subdirectory=pkg\n"
        "pkg[extra] @ https://host/x.zip ; sys_platform == 'linux'\n"
        "named @ git+https://github.com/o/r\n"
    )
    assert reqs(result) == [
        "numpy @ https://host/numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        'foo-bar @ https://host/Foo_Bar-1.0.tar.gz ; python_version >= "3.10"',
        "name @ git+https://github.com/o/r@v1#egg=name",
        "other @ git+ssh://git@github.com/o/r.git@main#egg=other&subdirectory=pkg",
        'pkg[extra] @ https://host/x.zip ; sys_platform == "linux"',
        "named @ git+https://github.com/o/r",
    ]


def test_local_paths(here: Path) -> None:
    write(here / "cfgproj" / "setup.cfg", "[metadata]\nname = cfg-proj\n")
    (here / "pkg-1.0-py3-none-any.whl").write_bytes(b"")
    write(here / "sub" / "r.in", "../pkg-1.0-py3-none-any.whl\n./local-3.0.tar.gz\n")
    (here / "sub" / "local-3.0.tar.gz").write_bytes(b"")
    result = parse(
        "./cfgproj\n"
        f"{(here / 'cfgproj').as_uri()}\n"
        "-r sub/r.in\n"
        "thing @ ./cfgproj\n"
        "thing2 @ file:cfgproj\n"
    )
    uri = (here / "cfgproj").as_uri()
    assert reqs(result) == [
        f"cfg-proj @ {uri}",
        f"cfg-proj @ {uri}",
        f"pkg @ {(here / 'pkg-1.0-py3-none-any.whl').as_uri()}",
        f"local @ {(here / 'sub' / 'local-3.0.tar.gz').as_uri()}",
        f"thing @ {uri}",
        f"thing2 @ {uri}",
    ]


def test_parse_requirement_on_its_own(tmp_path: Path) -> None:
    req = parse_requirement("  Requests[socks]>=2 ", "command line")
    assert str(req.requirement) == "Requests[socks]>=2"
    assert req.origin == "command line" and req.name == "requests" and not req.editable
    write(tmp_path / "p" / "pyproject.toml", '[project]\nname = "p"\n')
    editable = parse_requirement("./p", "command line", base_dir=tmp_path, editable=True)
    assert editable.editable
    assert str(editable.requirement) == f"p @ {(tmp_path / 'p').as_uri()}"


def test_directory_path_with_space_is_percent_encoded(here: Path) -> None:
    write(here / "my dir" / "pyproject.toml", '[project]\nname = "spaced"\n')
    result = parse('-e "./my dir"\n')
    assert str(result.requirements[0].requirement) == "spaced @ " + (here / "my dir").as_uri()
    assert "%20" in str(result.requirements[0].requirement)


# --- merge --------------------------------------------------------------------------------


def test_merge(here: Path) -> None:
    one = parse("numpy\n-i https://a/simple\n-f ./w\n--only-binary :all:\n", name="one.in")
    write(here / "c.txt", "numpy<2\n")
    two = parse(
        "-c c.txt\n--extra-index-url https://x/simple\n--pre\n--no-binary torch\n", "two.in"
    )
    merged = merge([one, two])
    assert reqs(merged) == ["numpy"]
    assert [str(c.requirement) for c in merged.constraints] == ["numpy<2"]
    assert merged.index_url == "https://a/simple"
    assert merged.extra_index_urls == ("https://x/simple",)
    assert merged.find_links == (str(here / "w"),)
    assert merged.pre and not merged.no_index
    assert merged.only_binary == {":all:"} and merged.no_binary == {"torch"}
    assert merged.sources == (here / "one.in", here / "two.in", here / "c.txt")
    assert merge([]) == RequirementsFile()
    assert merge([two, one]).no_binary == set()


# --- bad input: every error names file:line -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("numpy\n--foo\n", "requirements.in:2: unknown option --foo"),
        ("-x value\n", "requirements.in:1: unknown option -x"),
        ("--trusted-host example.org\n", "requirements.in:1: --trusted-host is not supported"),
        ("--use-feature=fast-deps\n", "requirements.in:1: --use-feature is not supported"),
        ("foo --config-settings a=b\n", "requirements.in:1: --config-settings is not supported"),
        ("-i\n", "requirements.in:1: option -i needs a value"),
        ("--index-url=\n", "requirements.in:1: option --index-url needs a value"),
        ("-r --pre\n", "requirements.in:1: option -r needs a value"),
        ("--pre=yes\n", "requirements.in:1: option --pre takes no value"),
        ("--pre extra\n", "requirements.in:1: unexpected text 'extra' among options"),
        ("numpy -i https://x\n", "requirements.in:1: option --index-url must be on its own line"),
        (f"--hash=sha256:{SHA_A}\n", "requirements.in:1: --hash must follow a requirement"),
        ("numpy --hash=md5:abc\n", "requirements.in:1: --hash must be sha256:"),
        ("numpy --hash=sha256:abc\n", "requirements.in:1: a sha256 digest has 64 hex digits"),
        ("numpy --hash=sha256\n", "requirements.in:1: --hash must be sha256:"),
        ("\nnumpy >>= 1\n", "requirements.in:2: invalid requirement 'numpy >>= 1'"),
        ("numpy; python_version <\n", "requirements.in:1: invalid requirement"),
        ("-i 'unclosed\n", "requirements.in:1: cannot split options"),
        ("--only-binary=bad!name\n", "requirements.in:1: invalid project name 'bad!name'"),
        ("-r https://host/r.txt\n", "requirements.in:1: cloche reads requirements files from"),
        ("-e numpy\n", "requirements.in:1: no such file or directory: numpy"),
        ("-e https://host/x-1.0.tar.gz\n", "requirements.in:1: an editable requirement must be"),
        ("-e x @ https://host/x.whl\n", "requirements.in:1: unexpected text '@'"),
        ("./missing\n", "requirements.in:1: no such file or directory: ./missing"),
        ("git+https://h/o/r#egg=bad!name\n", "requirements.in:1: invalid project name in #egg="),
    ],
)
def test_bad_lines(here: Path, text: str, message: str) -> None:
    assert error_of(text).startswith(message)


def test_errors_are_single_lines(here: Path) -> None:
    message = error_of("numpy >>= 1\n")
    assert "\n" not in message


def test_local_dir_without_a_name(here: Path) -> None:
    (here / "anon").mkdir()
    write(here / "anon" / "setup.py", "")
    parsed = parse("x\n\n./anon\n")
    assert reqs(parsed) == ["x"]
    [anon] = parsed.unnamed  # named from its build by whoever installs it
    assert (anon.origin, anon.shown) == ("requirements.in:3", "./anon")
    assert anon.url == (here / "anon").as_uri()
    assert str(anon.refusal()) == (
        "requirements.in:3: cannot tell the project name of ./anon; write it as 'name @ ./anon'"
    )
    assert reqs(parse("anon @ ./anon\n")) == [f"anon @ {(here / 'anon').as_uri()}"]


def test_urls_without_a_name_are_kept_to_be_named(here: Path) -> None:
    parsed = parse(
        "git+https://github.com/o/r@v1\n"
        "git+https://h/o/r.git#subdirectory=pkg ; python_version > '3'\n"
        "https://host/download --hash=sha256:" + SHA_A + "\n"
        "-e git+https://h/o/e.git\n"
    )
    assert parsed.requirements == ()
    first, second, third, fourth = parsed.unnamed
    assert (first.origin, first.url, first.marker) == (
        "requirements.in:1",
        "git+https://github.com/o/r@v1",
        "",
    )
    assert (second.url, second.marker) == (
        "git+https://h/o/r.git#subdirectory=pkg",
        "python_version > '3'",
    )
    assert third.hashes == (("sha256", SHA_A),)
    assert fourth.editable
    named = first.named("r")
    assert (str(named.requirement), named.origin) == (
        "r @ git+https://github.com/o/r@v1",
        "requirements.in:1",
    )
    assert str(second.named("r").requirement).endswith('; python_version > "3"')
    assert str(first.refusal()) == (
        "requirements.in:1: cannot tell the project name of git+https://github.com/o/r@v1; "
        "write it as 'name @ git+https://github.com/o/r@v1'"
    )


def test_a_constraint_must_have_a_name(here: Path) -> None:
    write(Path("constraints.txt"), "git+https://github.com/o/r@v1\n")
    with pytest.raises(RequirementError) as info:
        parse("-c constraints.txt\n")
    assert str(info.value) == (
        "constraints.txt:1: cannot tell the project name of git+https://github.com/o/r@v1; "
        "write it as 'name @ git+https://github.com/o/r@v1'"
    )
    with pytest.raises(RequirementError, match="cannot tell the project name"):
        parse("https://host/download\n", constraint=True)


def test_local_dir_with_broken_metadata(here: Path) -> None:
    write(here / "broken" / "pyproject.toml", "[project\n")
    assert error_of("./broken\n").startswith("requirements.in:1: cannot read ")
    write(here / "cfg" / "setup.cfg", "no section header\n")
    assert error_of("./cfg\n").startswith("requirements.in:1: cannot read ")


def test_local_file_that_is_not_a_dist(here: Path) -> None:
    write(here / "notes.zip", "")
    assert "./notes.zip is not a wheel, an sdist or a project directory" in error_of(
        "./notes.zip\n"
    )
    write(here / "pkg-1.0-py3-none-any.whl", "")
    assert "must be a project directory, not a file" in error_of("-e ./pkg-1.0-py3-none-any.whl\n")


def test_constraints_cannot_be_editable_or_have_extras(here: Path) -> None:
    write(here / "p" / "pyproject.toml", '[project]\nname = "p"\n')
    write(here / "c.txt", "numpy\n-e ./p\n")
    assert error_of("-c c.txt\n") == "c.txt:2: a constraint cannot be editable"
    write(here / "c.txt", "pandas[excel]<3\n")
    assert error_of("-c c.txt\n") == "c.txt:1: a constraint cannot have extras"


def test_empty_requirement_for_parse_requirement() -> None:
    with pytest.raises(RequirementError, match=r"^command line: empty requirement$"):
        parse_requirement("   ", "command line")
