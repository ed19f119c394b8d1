"""Credentials for indexes: from URL userinfo and ~/.netrc, applied per host.

URLs are redacted (userinfo removed) before they reach a DistFile, the cache
or a message; the secrets stay in this store only.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    import netrc

    from cloche.adapters.index.credential import Credential


def _host_key(parts: SplitResult) -> str:
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    return f"{host}:{port}" if port is not None else host


def split_credentials(url: str) -> tuple[str, Credential | None]:
    """The URL without userinfo, and the credential it carried (if any)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    clean = urlunsplit(parts._replace(netloc=hostport))
    from cloche.adapters.index.credential import Credential

    return clean, Credential(unquote(username), unquote(password))


def redact(url: str) -> str:
    """``url`` with any userinfo removed: safe for messages, caches and lockfiles."""
    return split_credentials(url)[0]


def default_netrc_path() -> Path:
    """$NETRC when set, else ~/.netrc."""
    override = os.environ.get("NETRC")
    return Path(override) if override else Path.home() / ".netrc"


class CredentialStore:
    """Credentials by host, from configured URLs first, then from a netrc file."""

    def __init__(self, urls: Iterable[str], netrc_path: Path | None = None) -> None:
        self._by_host: dict[str, Credential] = {}
        self._netrc_path = netrc_path if netrc_path is not None else default_netrc_path()
        self._netrc_problem: str | None = None
        self._lock = threading.Lock()
        for url in urls:
            self.remember(url)
        self._netrc = self._load_netrc()

    def remember(self, url: str) -> str:
        """Keep the credential in ``url`` (if any) for its host; return the redacted URL."""
        clean, credential = split_credentials(url)
        if credential is not None:
            key = _host_key(urlsplit(clean))
            with self._lock:
                self._by_host.setdefault(key, credential)
        return clean

    def for_url(self, url: str) -> Credential | None:
        """The credential to send with a request to ``url``, if one is known for its host."""
        parts = urlsplit(url)
        key = _host_key(parts)
        with self._lock:
            found = self._by_host.get(key) or self._by_host.get((parts.hostname or "").lower())
        if found is not None:
            return found
        return self._from_netrc(parts.hostname or "")

    @property
    def netrc_problem(self) -> str | None:
        """Why the netrc file could not be read (None when fine or absent)."""
        return self._netrc_problem

    def _from_netrc(self, host: str) -> Credential | None:
        if not host or self._netrc is None:
            return None
        entry = self._netrc.authenticators(host)
        if entry is None:
            return None
        login, _account, password = entry
        from cloche.adapters.index.credential import Credential

        return Credential(login or "", password or "")

    def _load_netrc(self) -> netrc.netrc | None:
        if not self._netrc_path.is_file():
            return None
        import netrc

        try:
            return netrc.netrc(str(self._netrc_path))
        except (OSError, netrc.NetrcParseError) as exc:
            # The message of NetrcParseError quotes the offending line, which may hold a
            # password; only say where the problem is.
            line = getattr(exc, "lineno", None)
            where = f"{self._netrc_path}, line {line}" if line else str(self._netrc_path)
            self._netrc_problem = f"ignoring unreadable netrc file {where}"
            return None
