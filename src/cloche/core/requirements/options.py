"""Option lines of a requirements file: pip's options, their values, their rules."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from packaging.utils import canonicalize_name

from cloche.core.requirements.line import is_project_name
from cloche.errors import RequirementError

_HASH_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}

_TAKES_VALUE = {
    "-r": "--requirement",
    "--requirement": "--requirement",
    "-c": "--constraint",
    "--constraint": "--constraint",
    "-e": "--editable",
    "--editable": "--editable",
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "--only-binary": "--only-binary",
    "--no-binary": "--no-binary",
    "--hash": "--hash",
}
_FLAGS = frozenset({"--no-index", "--pre", "--prefer-binary", "--require-hashes"})
_UNSUPPORTED = {
    "--trusted-host": "cloche has no trusted-host setting; use an https index URL",
    "--config-settings": "pass build settings on the command line instead",
    "--global-option": "it is deprecated in pip and has no cloche equivalent",
    "--install-option": "it was removed from pip and has no cloche equivalent",
    "--use-feature": "cloche has no pip feature flags",
}


def parse_options(text: str, origin: str) -> list[tuple[str, str | None]]:
    """Option tokens as (canonical long name, value or None for a flag)."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise RequirementError(f"{origin}: cannot split options: {exc}") from None
    options: list[tuple[str, str | None]] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        name, value = _split_option(token)
        if not token.startswith("-"):
            raise RequirementError(f"{origin}: unexpected text {token!r} among options")
        if name in _UNSUPPORTED:
            raise RequirementError(f"{origin}: {name} is not supported: {_UNSUPPORTED[name]}")
        if name in _FLAGS:
            if value is not None:
                raise RequirementError(f"{origin}: option {name} takes no value")
            options.append((name, None))
            continue
        if name not in _TAKES_VALUE:
            raise RequirementError(f"{origin}: unknown option {name}")
        if value is None and index < len(tokens) and not tokens[index].startswith("-"):
            value = tokens[index]
            index += 1
        if not value:
            raise RequirementError(f"{origin}: option {name} needs a value")
        options.append((_TAKES_VALUE[name], value))
    return options


def _split_option(token: str) -> tuple[str, str | None]:
    if token.startswith("--"):
        name, equals, value = token.partition("=")
        return name, value if equals else None
    if token.startswith("-") and len(token) > 2:
        return token[:2], token[2:]
    return token, None


def parse_hash(value: str, origin: str) -> tuple[str, str]:
    algorithm, colon, digest = value.lower().partition(":")
    length = _HASH_LENGTHS.get(algorithm)
    if length is None or not colon:
        raise RequirementError(
            f"{origin}: --hash must be sha256:, sha384: or sha512: and a hex digest, not {value!r}"
        )
    if len(digest) != length or re.fullmatch(r"[0-9a-f]+", digest) is None:
        raise RequirementError(f"{origin}: a {algorithm} digest has {length} hex digits: {value!r}")
    return algorithm, digest


def apply_format(target: set[str], other: set[str], values: Sequence[str], origin: str) -> None:
    """pip's --only-binary / --no-binary rules: ":all:" clears both, ":none:" clears one."""
    for value in (v.strip() for v in values):
        if value == ":all:":
            target.clear()
            other.clear()
            target.add(":all:")
        elif value == ":none:":
            target.clear()
        elif not is_project_name(value):
            raise RequirementError(f"{origin}: invalid project name {value!r} in a binary option")
        elif ":all:" not in target:
            name = canonicalize_name(value)
            other.discard(name)
            target.add(name)
