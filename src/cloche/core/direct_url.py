"""PEP 610 ``direct_url.json`` for distributions installed from a URL, path or VCS."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")


def direct_url_json(
    url: str,
    *,
    editable: bool = False,
    sha256: str | None = None,
    commit: str | None = None,
) -> str:
    """The JSON text recorded for a distribution installed from ``url``."""
    data: dict[str, object]
    if url.startswith(_VCS_PREFIXES):
        vcs, _, rest = url.partition("+")
        split = urlsplit(rest)
        path, _, revision = split.path.partition("@")
        info: dict[str, object] = {"vcs": vcs}
        if commit:
            info["commit_id"] = commit
        if revision:
            info["requested_revision"] = revision
        data = {
            "url": urlunsplit((split.scheme, split.netloc, path, split.query, "")),
            "vcs_info": info,
        }
        subdir = _fragment(split.fragment).get("subdirectory")
        if subdir:
            data["subdirectory"] = subdir
        return json.dumps(data, sort_keys=True)
    split = urlsplit(url)
    clean = urlunsplit((split.scheme, split.netloc, split.path, split.query, ""))
    if split.scheme == "file" and Path(unquote(split.path)).is_dir():
        data = {"url": clean, "dir_info": {"editable": True} if editable else {}}
    else:
        archive: dict[str, object] = {}
        if sha256:
            archive = {"hashes": {"sha256": sha256}, "hash": f"sha256={sha256}"}
        data = {"url": clean, "archive_info": archive}
    return json.dumps(data, sort_keys=True)


def recorded_url(text: str | None) -> tuple[str | None, bool]:
    """The URL a direct_url.json records, in the form a requirement would give it, and
    whether it is editable. ``(None, False)`` for index installs or unreadable JSON."""
    if not text:
        return None, False
    try:
        data = json.loads(text)
    except ValueError:
        return None, False
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return None, False
    url: str = data["url"]
    vcs = data.get("vcs_info")
    if isinstance(vcs, dict) and isinstance(vcs.get("vcs"), str):
        revision = vcs.get("requested_revision")
        url = f"{vcs['vcs']}+{url}" + (f"@{revision}" if isinstance(revision, str) else "")
        if isinstance(data.get("subdirectory"), str):
            url += f"#subdirectory={data['subdirectory']}"
        return url, False
    dir_info = data.get("dir_info")
    editable = isinstance(dir_info, dict) and dir_info.get("editable") is True
    return url, editable


def _fragment(fragment: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in fragment.split("&") if "=" in p)
