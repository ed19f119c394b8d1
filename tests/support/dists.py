"""Build real wheels, sdists and source trees in code, for tests.

Stdlib only, on purpose: this module is copied verbatim into every sdist it
makes, where the in-tree build backend imports it to build the wheel.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import json
import re
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "dist_info_name",
    "filename_name",
    "import_name",
    "make_sdist",
    "make_source_tree",
    "make_wheel",
    "metadata_text",
    "record_hash",
    "sdist_filename",
    "wheel_filename",
]

_EPOCH_ZIP = (1980, 1, 1, 0, 0, 0)
_BACKEND_DIR = "_backend"
_BACKEND_MODULE = "cloche_test_backend"
_HELPER_MODULE = "_cloche_test_dists"
_DIST_JSON = f"{_BACKEND_DIR}/dist.json"
# PKG-INFO "Dynamic:" field -> pyproject.toml [project] key.
_DYNAMIC_TO_PROJECT = {
    "requires-dist": "dependencies",
    "requires-python": "requires-python",
    "provides-extra": "optional-dependencies",
    "summary": "description",
}

Files = Mapping[str, "str | bytes"]


def filename_name(name: str) -> str:
    """The name as wheel/sdist filenames and .dist-info spell it: ``Foo.Bar`` -> ``foo_bar``."""
    return re.sub(r"[-_.]+", "_", name).lower()


def import_name(name: str) -> str:
    """The default top-level package of a test project."""
    return filename_name(name)


def _filename_version(version: str) -> str:
    return version.replace("-", "_")


def dist_info_name(name: str, version: str) -> str:
    return f"{filename_name(name)}-{_filename_version(version)}.dist-info"


def wheel_filename(
    name: str, version: str, tag: str = "py3-none-any", build_tag: str | None = None
) -> str:
    build = f"-{build_tag}" if build_tag else ""
    return f"{filename_name(name)}-{_filename_version(version)}{build}-{tag}.whl"


def sdist_filename(name: str, version: str) -> str:
    return f"{filename_name(name)}-{_filename_version(version)}.tar.gz"


def record_hash(data: bytes) -> str:
    """``sha256=<urlsafe b64, no padding>`` as RECORD writes it."""
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _as_bytes(content: str | bytes) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


def _extra_requirement(requirement: str, extra: str) -> str:
    base, sep, marker = requirement.partition(";")
    if sep:
        return f'{base.strip()}; ({marker.strip()}) and extra == "{extra}"'
    return f'{base.strip()}; extra == "{extra}"'


def metadata_text(
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    requires_python: str | None = None,
    extras: Mapping[str, Sequence[str]] | None = None,
    metadata_version: str = "2.1",
    dynamic: Sequence[str] = (),
) -> str:
    """Core metadata (METADATA / PKG-INFO) text."""
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    lines += [f"Dynamic: {field}" for field in dynamic]
    lines.append(f"Summary: {name}, a test distribution")
    if requires_python is not None:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {req}" for req in requires]
    for extra, extra_requires in (extras or {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f"Requires-Dist: {_extra_requirement(req, extra)}" for req in extra_requires]
    return "\n".join(lines) + "\n\n"


def _expand_tags(tag: str) -> list[str]:
    pythons, abis, platforms = tag.split("-")
    return [
        f"{py}-{abi}-{plat}"
        for py in pythons.split(".")
        for abi in abis.split(".")
        for plat in platforms.split(".")
    ]


def _wheel_text(tag: str, build_tag: str | None) -> str:
    purelib = all(t.endswith("-none-any") for t in _expand_tags(tag))
    lines = [
        "Wheel-Version: 1.0",
        "Generator: cloche-tests (1.0)",
        f"Root-Is-Purelib: {'true' if purelib else 'false'}",
    ]
    lines += [f"Tag: {t}" for t in _expand_tags(tag)]
    if build_tag:
        lines.append(f"Build: {build_tag}")
    return "\n".join(lines) + "\n"


def _entry_points_text(entry_points: Mapping[str, Mapping[str, str]]) -> str:
    sections = []
    for group, entries in entry_points.items():
        body = "".join(f"{key} = {value}\n" for key, value in entries.items())
        sections.append(f"[{group}]\n{body}")
    return "\n".join(sections)


def _default_files(name: str, version: str) -> dict[str, str | bytes]:
    return {f"{import_name(name)}/__init__.py": f"__version__ = {version!r}\n"}


def make_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    requires_python: str | None = None,
    extras: Mapping[str, Sequence[str]] | None = None,
    tag: str = "py3-none-any",
    files: Files | None = None,
    entry_points: Mapping[str, Mapping[str, str]] | None = None,
    data: Files | None = None,
    metadata_version: str = "2.1",
    build_tag: str | None = None,
    dist_info_files: Files | None = None,
) -> Path:
    """Write a valid wheel into ``directory`` and return its path.

    ``dist_info_files`` adds (or replaces) files in the .dist-info directory.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    dist_info = dist_info_name(name, version)
    data_dir = f"{filename_name(name)}-{_filename_version(version)}.data"
    contents: dict[str, bytes] = {}
    for path, content in (_default_files(name, version) if files is None else files).items():
        contents[path] = _as_bytes(content)
    for path, content in (data or {}).items():
        contents[f"{data_dir}/{path}"] = _as_bytes(content)
    meta = metadata_text(
        name,
        version,
        requires=requires,
        requires_python=requires_python,
        extras=extras,
        metadata_version=metadata_version,
    )
    contents[f"{dist_info}/METADATA"] = meta.encode("utf-8")
    contents[f"{dist_info}/WHEEL"] = _wheel_text(tag, build_tag).encode("utf-8")
    if entry_points:
        contents[f"{dist_info}/entry_points.txt"] = _entry_points_text(entry_points).encode()
    for path, content in (dist_info_files or {}).items():
        contents[f"{dist_info}/{path}"] = _as_bytes(content)
    record_path = f"{dist_info}/RECORD"
    contents.pop(record_path, None)

    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for path, content in contents.items():
        writer.writerow([path, record_hash(content), len(content)])
    writer.writerow([record_path, "", ""])
    contents[record_path] = record.getvalue().encode("utf-8")

    target = directory / wheel_filename(name, version, tag, build_tag)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, content in contents.items():
            info = zipfile.ZipInfo(path, date_time=_EPOCH_ZIP)
            executable = path.startswith(f"{data_dir}/scripts/")
            info.external_attr = (0o755 if executable else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content)
    return target


_BACKEND_SOURCE = '''\
"""In-tree PEP 517 / PEP 660 build backend of a cloche test project (stdlib only)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import _cloche_test_dists as _dists

_SKIP_TOP = {"PKG-INFO", "pyproject.toml", "_backend", "build", "dist"}


def _meta():
    return json.loads((Path.cwd() / "_backend" / "dist.json").read_text("utf-8"))


def _project_files():
    root = Path.cwd()
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        top = rel.parts[0]
        if top in _SKIP_TOP or top.startswith(".") or top.endswith(".egg-info"):
            continue
        if "__pycache__" in rel.parts or not path.is_file():
            continue
        files[rel.as_posix()] = path.read_bytes()
    return files


def _wheel_kwargs(meta):
    return {
        "requires": meta["requires"],
        "requires_python": meta["requires_python"],
        "extras": meta["extras"],
    }


def _fail(meta):
    if meta.get("fail_build"):
        print("running build_wheel for " + meta["name"], file=sys.stderr)
        print("error: cloche-test-build-failure: this build is set up to fail", file=sys.stderr)
        print("error: see the lines above", file=sys.stderr)
        raise RuntimeError("cloche test build failed on purpose")


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    meta = _meta()
    dist_info = Path(metadata_directory) / _dists.dist_info_name(meta["name"], meta["version"])
    dist_info.mkdir(parents=True, exist_ok=True)
    text = _dists.metadata_text(meta["name"], meta["version"], **_wheel_kwargs(meta))
    (dist_info / "METADATA").write_text(text, "utf-8")
    (dist_info / "WHEEL").write_text(_dists._wheel_text("py3-none-any", None), "utf-8")
    return dist_info.name


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    meta = _meta()
    _fail(meta)
    files = _project_files()
    if config_settings:  # what -C said, for tests to read back
        name = _dists.import_name(meta["name"]) + "_config_settings.json"
        files[name] = json.dumps(config_settings, sort_keys=True).encode()
    tag = "py3-none-any"
    if meta.get("native"):
        import sysconfig

        python = "cp%d%d" % sys.version_info[:2]
        platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
        tag = f"{python}-{python}-{platform}"
        files[_dists.import_name(meta["name"]) + "/built_with.txt"] = python.encode()
    wheel = _dists.make_wheel(
        Path(wheel_directory),
        meta["name"],
        meta["version"],
        files=files,
        tag=tag,
        **_wheel_kwargs(meta),
    )
    return wheel.name


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    meta = _meta()
    _fail(meta)
    pth = {"_cloche_editable_" + _dists.import_name(meta["name"]) + ".pth": str(Path.cwd()) + "\\n"}
    wheel = _dists.make_wheel(
        Path(wheel_directory), meta["name"], meta["version"], files=pth, **_wheel_kwargs(meta)
    )
    return wheel.name


def build_sdist(sdist_directory, config_settings=None):
    meta = _meta()
    sdist = _dists._write_sdist(Path(sdist_directory), meta["name"], meta["version"], Path.cwd())
    return sdist.name
'''


def _toml_str(value: str) -> str:
    return json.dumps(value)


def _toml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def _pyproject_text(
    name: str,
    version: str,
    *,
    requires: Sequence[str],
    requires_python: str | None,
    extras: Mapping[str, Sequence[str]],
    dynamic: Sequence[str],
    build_requires: Sequence[str],
) -> str:
    dynamic_keys = [_DYNAMIC_TO_PROJECT.get(field.lower(), field.lower()) for field in dynamic]
    lines = [
        "[build-system]",
        f"requires = {_toml_list(build_requires)}",
        f'build-backend = "{_BACKEND_MODULE}"',
        f'backend-path = ["{_BACKEND_DIR}"]',
        "",
        "[project]",
        f"name = {_toml_str(name)}",
        f"version = {_toml_str(version)}",
    ]
    if dynamic_keys:
        lines.append(f"dynamic = {_toml_list(dynamic_keys)}")
    if "description" not in dynamic_keys:
        lines.append(f"description = {_toml_str(f'{name}, a test distribution')}")
    if requires_python is not None and "requires-python" not in dynamic_keys:
        lines.append(f"requires-python = {_toml_str(requires_python)}")
    if "dependencies" not in dynamic_keys:
        lines.append(f"dependencies = {_toml_list(requires)}")
    if extras and "optional-dependencies" not in dynamic_keys:
        lines += ["", "[project.optional-dependencies]"]
        lines += [f"{_toml_str(extra)} = {_toml_list(reqs)}" for extra, reqs in extras.items()]
    return "\n".join(lines) + "\n"


def _project_contents(
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    requires_python: str | None = None,
    extras: Mapping[str, Sequence[str]] | None = None,
    files: Files | None = None,
    metadata_version: str = "2.2",
    dynamic: Sequence[str] = (),
    build_requires: Sequence[str] = (),
    fail_build: bool = False,
    backend_imports: Sequence[str] = (),
    native: bool = False,
) -> dict[str, bytes]:
    extras = dict(extras or {})
    contents = {
        path: _as_bytes(content)
        for path, content in (_default_files(name, version) if files is None else files).items()
    }
    pkg_info = metadata_text(
        name,
        version,
        requires=requires,
        requires_python=requires_python,
        extras=extras,
        metadata_version=metadata_version,
        dynamic=dynamic,
    )
    contents["PKG-INFO"] = pkg_info.encode("utf-8")
    contents["pyproject.toml"] = _pyproject_text(
        name,
        version,
        requires=requires,
        requires_python=requires_python,
        extras=extras,
        dynamic=dynamic,
        build_requires=build_requires,
    ).encode("utf-8")
    meta = {
        "name": name,
        "version": version,
        "requires": list(requires),
        "requires_python": requires_python,
        "extras": {extra: list(reqs) for extra, reqs in extras.items()},
        "fail_build": fail_build,
        "native": native,
    }
    contents[_DIST_JSON] = json.dumps(meta, indent=2).encode("utf-8")
    backend = _BACKEND_SOURCE.replace(
        "\nimport json\n",
        "\n" + "".join(f"import {m}\n" for m in backend_imports) + "import json\n",
        1,
    )
    contents[f"{_BACKEND_DIR}/{_BACKEND_MODULE}.py"] = backend.encode("utf-8")
    contents[f"{_BACKEND_DIR}/{_HELPER_MODULE}.py"] = Path(__file__).read_bytes()
    return contents


def _write_tar_gz(target: Path, top: str, contents: Mapping[str, bytes]) -> Path:
    # Fixed mtimes everywhere so the same inputs give byte-identical archives.
    with (
        target.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tf,
    ):
        dirs = {top}
        for path in sorted(contents):
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add(f"{top}/{'/'.join(parts[:i])}")
        for directory in sorted(dirs):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tf.addfile(info)
        for path in sorted(contents):
            info = tarfile.TarInfo(f"{top}/{path}")
            info.size = len(contents[path])
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(contents[path]))
    return target


def _write_sdist(directory: Path, name: str, version: str, source: Path) -> Path:
    """Re-pack an unpacked project (used by the in-tree backend's build_sdist)."""
    contents = {}
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_file() and "__pycache__" not in rel.parts:
            contents[rel.as_posix()] = path.read_bytes()
    top = f"{filename_name(name)}-{_filename_version(version)}"
    directory.mkdir(parents=True, exist_ok=True)
    return _write_tar_gz(directory / sdist_filename(name, version), top, contents)


def make_sdist(
    directory: Path,
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    requires_python: str | None = None,
    extras: Mapping[str, Sequence[str]] | None = None,
    files: Files | None = None,
    metadata_version: str = "2.2",
    dynamic: Sequence[str] = (),
    build_requires: Sequence[str] = (),
    fail_build: bool = False,
    backend_imports: Sequence[str] = (),
    native: bool = False,
) -> Path:
    """Write ``<name>-<version>.tar.gz`` that builds offline with its in-tree backend.

    ``backend_imports``: modules the backend imports first, as a build that needs a
    package it does not declare (flash-attn and torch) does. ``native``: the built
    wheel is tagged for the building interpreter (``cp311-cp311-linux_x86_64``), as a
    C extension's is, and records that interpreter's version in ``<pkg>/built_with.txt``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    contents = _project_contents(
        name,
        version,
        requires=requires,
        requires_python=requires_python,
        extras=extras,
        files=files,
        metadata_version=metadata_version,
        dynamic=dynamic,
        build_requires=build_requires,
        fail_build=fail_build,
        backend_imports=backend_imports,
        native=native,
    )
    top = f"{filename_name(name)}-{_filename_version(version)}"
    return _write_tar_gz(directory / sdist_filename(name, version), top, contents)


def make_source_tree(
    directory: Path,
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    requires_python: str | None = None,
    extras: Mapping[str, Sequence[str]] | None = None,
    files: Files | None = None,
    metadata_version: str = "2.2",
    dynamic: Sequence[str] = (),
    build_requires: Sequence[str] = (),
    fail_build: bool = False,
) -> Path:
    """The same project as :func:`make_sdist`, unpacked at ``directory/<name>-<version>``."""
    contents = _project_contents(
        name,
        version,
        requires=requires,
        requires_python=requires_python,
        extras=extras,
        files=files,
        metadata_version=metadata_version,
        dynamic=dynamic,
        build_requires=build_requires,
        fail_build=fail_build,
    )
    project = Path(directory) / f"{filename_name(name)}-{_filename_version(version)}"
    for path, content in contents.items():
        target = project / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return project
