"""conda package names and their PyPI counterparts (the data is ``conda_names.toml``)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache

from cloche.core.models import NormalizedName, normalize

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]


@dataclass(frozen=True, slots=True)
class CondaNames:
    """The shipped mapping: conda name -> PyPI name, accelerator packages, and the
    conda packages that have no PyPI counterpart."""

    pypi: dict[str, str]
    conda: dict[str, str]
    accelerator: dict[str, str]
    unmapped: frozenset[str]

    def pypi_name(self, conda_name: str) -> str | None:
        """The PyPI name for ``conda_name`` (itself when not listed); None when it has none
        or is an accelerator package."""
        key = conda_name.lower()
        if key in self.unmapped or key in self.accelerator:
            return None
        return self.pypi.get(key, conda_name)

    def conda_name(self, pypi_name: str) -> str:
        """The conda name for a PyPI distribution (itself when not listed)."""
        return self.conda.get(normalize(pypi_name), pypi_name)

    def same_project(self, conda_name: str) -> NormalizedName | None:
        """The normalized PyPI name of a conda package, None when it has none."""
        name = self.pypi_name(conda_name)
        return None if name is None else normalize(name)


@cache
def conda_names() -> CondaNames:
    from importlib.resources import files

    data = tomllib.loads(files("cloche.core").joinpath("conda_names.toml").read_text("utf-8"))
    return CondaNames(
        pypi={k.lower(): v for k, v in data["pypi"].items()},
        conda={normalize(k): v for k, v in data["conda"].items()},
        accelerator={k.lower(): v for k, v in data["accelerator"].items()},
        unmapped=frozenset(n.lower() for n in data["none"]["names"]),
    )
