"""Typed access to a TOML document, with errors that name the file and key path."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from cloche.core.requirements.line import specifier_problem
from cloche.errors import ProjectError


class TomlFields:
    """Typed access to a TOML document, with errors that name the file and key path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, key: str, message: str) -> ProjectError:
        return ProjectError(f"{self.path.name}: {key}: {message}")

    def table(self, value: object, key: str) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(key, f"expected a table, got {type_name(value)}")
        return value

    def string(self, value: object, key: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {type_name(value)}")
        return value

    def list_(self, value: object, key: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(key, f"expected an array, got {type_name(value)}")
        return value

    def strings(self, value: object, key: str) -> list[str]:
        items = self.list_(value, key)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise self.error(f"{key}[{i}]", f"expected a string, got {type_name(item)}")
        return items

    def requirements(self, value: object, key: str) -> tuple[Requirement, ...]:
        return tuple(
            self.requirement(item, f"{key}[{i}]") for i, item in enumerate(self.strings(value, key))
        )

    def requirement(self, text: str, key: str) -> Requirement:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise self.error(key, f"invalid requirement {text!r}: {exc}") from None
        problem = specifier_problem(req)
        if problem:
            raise self.error(key, f"invalid requirement {text!r}: {problem}")
        return req


def type_name(value: object) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a float"}
    for kind, name in names.items():
        if type(value) is kind:
            return name
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__
