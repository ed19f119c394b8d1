"""Whether a lock is fresh: the hash of the project inputs it was made from.

``inputs_hash`` covers what in pyproject.toml (and the index URLs) a lock depends
on; ``is_fresh`` compares it with the one a lock was written with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

from packaging.pylock import Pylock
from packaging.requirements import Requirement

from cloche.core.lock.direct import strip_credentials
from cloche.core.models import normalize
from cloche.core.project.spec import ProjectSpec


def inputs_hash(spec: ProjectSpec, index_urls: Sequence[str]) -> str:
    """sha256 of everything in the project that a lock depends on.

    Covers dependencies, extras, groups, requires-python, targets, the Python pin
    and the index URLs (credentials removed); formatting and comments do not count.
    """
    data: dict[str, object] = {
        "dependencies": _canonical_reqs(spec.dependencies),
        "optional-dependencies": {
            str(k): _canonical_reqs(v) for k, v in sorted(spec.optional_dependencies.items())
        },
        "dependency-groups": {
            str(k): _canonical_reqs(v) for k, v in sorted(spec.dependency_groups.items())
        },
        "default-groups": sorted(spec.default_groups),
        "requires-python": str(spec.requires_python or ""),
        "targets": sorted(spec.targets),
        "python": spec.python or "",
        "index-urls": [strip_credentials(url).rstrip("/") for url in index_urls],
    }
    if spec.dynamic & {"dependencies", "optional-dependencies"}:
        # The backend gives them (from requirements.txt, say): the same inputs whether
        # or not they were read yet. Only when used, so older locks keep their hash.
        if "dependencies" in spec.dynamic:
            data["dependencies"] = []
        if "optional-dependencies" in spec.dynamic:
            data["optional-dependencies"] = {}
        data["dynamic"] = sorted(spec.dynamic)
    if spec.sources:  # only when used, so older locks keep their hash
        data["sources"] = {
            str(name): [source.path, source.editable]
            for name, source in sorted(spec.sources.items())
        }
    if spec.index_sources:
        data["index-sources"] = {str(k): v for k, v in sorted(spec.index_sources.items())}
        data["indexes"] = _named_indexes(spec.tool.get("index"))
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _named_indexes(value: object) -> list[list[object]]:
    """``[[tool.cloche.index]]`` as (name, URL without credentials, explicit) rows."""
    rows: list[list[object]] = []
    for entry in value if isinstance(value, list) else ():
        if isinstance(entry, Mapping):
            url = entry.get("url")
            url = strip_credentials(url).rstrip("/") if isinstance(url, str) else url
            rows.append([entry.get("name"), url, entry.get("explicit", False)])
    return rows


def _canonical_reqs(reqs: Sequence[Requirement]) -> list[str]:
    """Requirements in a form that ignores spelling, spacing and order."""
    out = []
    for req in reqs:
        text: str = normalize(req.name)
        if req.extras:
            text += "[" + ",".join(sorted(normalize(e) for e in req.extras)) + "]"
        text += str(req.specifier)
        if req.url:
            text += f" @ {req.url}"
        if req.marker is not None:
            text += f"; {req.marker}"
        out.append(text)
    return sorted(out)


def lock_inputs_hash(lock: Pylock) -> str | None:
    """The ``[tool.cloche] inputs-hash`` a lock was written with, if any."""
    table = (lock.tool or {}).get("cloche")
    value = table.get("inputs-hash") if isinstance(table, Mapping) else None
    return value if isinstance(value, str) else None


def is_fresh(lock: Pylock, spec: ProjectSpec, index_urls: Sequence[str]) -> bool:
    """Whether the lock was made from the project's current inputs."""
    return lock_inputs_hash(lock) == inputs_hash(spec, index_urls)
