"""PEP 610 ``direct_url.json`` for distributions installed from a URL, path or VCS.

``packaging.direct_url`` is the record itself; what stays here is cloche's side of
it: the URL as a requirement writes it (``git+https://host/repo@rev#subdirectory=x``)
to and from a record.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

TYPE_CHECKING = False
if TYPE_CHECKING:
    from packaging.direct_url import DirectUrl

_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
_REFERENCE = r"\$\{[A-Za-z0-9_-]+\}"
_SAFE_USERINFO = re.compile(rf"{_REFERENCE}|[^:]*:{_REFERENCE}")
"""Userinfo that holds no secret: a ``${NAME}`` reference, or ``user:${NAME}``."""


def direct_url_json(
    url: str,
    *,
    editable: bool = False,
    sha256: str | None = None,
    commit: str | None = None,
) -> str:
    """The JSON text recorded for a distribution installed from ``url``."""
    record = _record(url, editable=editable, sha256=sha256, commit=commit)
    # PEP 610: no password in the record (``${NAME}`` references and ``git@`` stay).
    data = record.to_dict(generate_legacy_hash=True, strip_user_password=True)
    if record.vcs_info is not None and not commit:
        data["vcs_info"].pop("commit_id")  # unknown: left out rather than written empty
    return json.dumps(data, sort_keys=True)


def public_url(url: str) -> str:
    """``url`` as it may be written down or shown: without ``user:password@``, unless
    the secret is a ``${NAME}`` environment reference (PEP 610), or the user ``git``."""
    vcs, plus, rest = url.partition("+")
    if plus and vcs in ("git", "hg", "svn", "bzr") and "://" in rest:
        return f"{vcs}+{public_url(rest)}"
    split = urlsplit(url)
    userinfo, at, hostport = split.netloc.rpartition("@")
    if not at or userinfo == "git" or _SAFE_USERINFO.fullmatch(userinfo):
        return url
    return urlunsplit(split._replace(netloc=hostport))


def _record(url: str, *, editable: bool, sha256: str | None, commit: str | None) -> DirectUrl:
    # Imported here: five dataclasses that only installs from a URL or path need.
    from packaging.direct_url import ArchiveInfo, DirectUrl, DirInfo, VcsInfo

    if url.startswith(_VCS_PREFIXES):
        vcs, _, rest = url.partition("+")
        split = urlsplit(rest)
        path, _, revision = split.path.partition("@")
        return DirectUrl(
            url=urlunsplit((split.scheme, split.netloc, path, split.query, "")),
            vcs_info=VcsInfo(vcs=vcs, commit_id=commit or "", requested_revision=revision or None),
            subdirectory=_fragment(split.fragment).get("subdirectory") or None,
        )
    split = urlsplit(url)
    clean = urlunsplit((split.scheme, split.netloc, split.path, split.query, ""))
    if split.scheme == "file" and Path(unquote(split.path)).is_dir():
        return DirectUrl(url=clean, dir_info=DirInfo(editable=True if editable else None))
    hashes = {"sha256": sha256} if sha256 else None
    return DirectUrl(url=clean, archive_info=ArchiveInfo(hashes=hashes))


def recorded_url(text: str | None) -> tuple[str | None, bool]:
    """The URL a direct_url.json records, in the form a requirement would give it, and
    whether it is editable. ``(None, False)`` for index installs or unreadable JSON."""
    if not text:
        return None, False
    try:
        data = json.loads(text)
    except ValueError:
        return None, False
    if not isinstance(data, dict):
        return None, False
    from packaging.direct_url import DirectUrl, DirectUrlValidationError

    try:
        record = DirectUrl.from_dict(data)
    except DirectUrlValidationError:
        return None, False
    vcs = record.vcs_info
    if vcs is not None:
        url = f"{vcs.vcs}+{record.url}"
        if vcs.requested_revision is not None:
            url += f"@{vcs.requested_revision}"
        if record.subdirectory is not None:
            url += f"#subdirectory={record.subdirectory}"
        return public_url(url), False
    editable = record.dir_info is not None and record.dir_info.editable is True
    return public_url(record.url), editable


def _fragment(fragment: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in fragment.split("&") if "=" in p)
