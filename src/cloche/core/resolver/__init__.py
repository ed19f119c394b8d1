"""Dependency resolution: resolvelib over a PackageFinder, for one Target.

Importing this package does not import resolvelib; ``resolve`` does, on first call.
"""

from __future__ import annotations

from cloche.core.resolver.options import ALL, FilePolicy, ResolveOptions
from cloche.core.resolver.resolve import resolve

__all__ = ["ALL", "FilePolicy", "ResolveOptions", "resolve"]
