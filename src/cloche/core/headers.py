"""The header block of a core-metadata or WHEEL file (RFC 822 style), read plainly.

The standard library's ``email`` parser does this with a policy framework whose import
costs more than most installs spend reading these files; the fields read here (names,
versions, ``Requires-Dist``, ``Root-Is-Purelib``) are never folded or encoded.
"""

from __future__ import annotations


def read_headers(text: str) -> dict[str, list[str]]:
    """Each field's values in order, keyed by lower-cased name, up to the first blank line.

    A continuation line (leading space or tab) extends the field before it.
    """
    fields: dict[str, list[str]] = {}
    last: list[str] | None = None
    for line in text.splitlines():
        if not line.strip():
            break
        if line[0] in " \t":
            if last:
                last[-1] = f"{last[-1]}\n{line}"
            continue
        name, colon, value = line.partition(":")
        if not colon:
            last = None
            continue
        last = fields.setdefault(name.strip().lower(), [])
        last.append(value.strip())
    return fields


def first(fields: dict[str, list[str]], name: str) -> str | None:
    """The first value of field ``name`` (any case), or None."""
    values = fields.get(name.lower())
    return values[0] if values else None
