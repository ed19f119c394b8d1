"""``cloche import environment.yml``: a conda environment file into pyproject.toml.

conda names become PyPI names through ``core/conda_names.toml``; CUDA packages
(``pytorch-cuda``, ``cudatoolkit``) become a note naming the accelerator build to
choose; packages with no PyPI counterpart are listed, never dropped silently.
The text is locked and written by ``project_edit`` like every other edit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from cloche.core.conda_env import CondaEnvFile, parse_conda_spec, read_environment_file
from cloche.core.conda_names import conda_names
from cloche.core.models import Interpreter, normalize
from cloche.core.pyproject_edit import add_requirements, new_pyproject
from cloche.errors import RequirementError
from cloche.ops.project.imports import ImportPlan, project_name, with_index_options

_TOOLS = frozenset({"pip", "setuptools", "wheel"})


def plan_conda_import(
    root: Path, env_path: Path, old_text: str | None, interpreter: Interpreter
) -> ImportPlan:
    """The pyproject.toml text with the environment file's packages added."""
    env = read_environment_file(env_path)
    notes: list[str] = []
    python, reqs = _conda_requirements(env, notes)
    options: dict[str, Any] = {}
    for line in env.pip:
        req = _pip_line(line, options, notes)
        if req is not None:
            reqs[normalize(req.name)] = req  # pip installs after conda: its pin wins
    if not reqs:
        raise RequirementError(f"{env_path}: no packages to import")
    if env.channels:
        notes.append(
            f"channels {', '.join(env.channels)} were read; cloche installs from PyPI "
            "(index options go in [tool.cloche])"
        )
    text = old_text
    if text is None:
        version = python or f"{interpreter.version.major}.{interpreter.version.minor}"
        text = new_pyproject(env.name or project_name(root), f">={version}")
    elif python:
        notes.append(f"python={python} was not applied to the existing requires-python")
    text = add_requirements(text, list(reqs.values()))
    text = with_index_options(text, options)
    return ImportPlan(root, old_text, text, len(reqs), tuple(notes))


def _conda_requirements(
    env: CondaEnvFile, notes: list[str]
) -> tuple[str | None, dict[str, Requirement]]:
    names = conda_names()
    python: str | None = None
    reqs: dict[str, Requirement] = {}
    unmapped: list[str] = []
    for text in env.conda:
        spec = parse_conda_spec(text)
        key = spec.name.lower()
        if key == "python":
            python = ".".join((spec.version or "").split(".")[:2]) or None
            continue
        if key in _TOOLS:
            continue
        if key in names.accelerator:
            notes.append(_accelerator_note(spec.name, spec.version))
            continue
        pypi = names.pypi_name(spec.name)
        if pypi is None:
            unmapped.append(text)
            continue
        reqs[normalize(pypi)] = Requirement(f"{pypi}{spec.specifier}")
    if unmapped:
        notes.append(f"no PyPI counterpart, not imported: {', '.join(unmapped)}")
    return python, reqs


def _accelerator_note(name: str, version: str | None) -> str:
    if not version:
        return f"{name} dropped: PyPI's torch, TensorFlow and JAX wheels bring their own CUDA"
    digits = "".join(version.split(".")[:2])
    return (
        f"{name}={version} dropped: PyPI's CUDA builds bring their own CUDA; choose "
        f"the cu{digits} build (for torch: index https://download.pytorch.org/whl/cu{digits})"
    )


def _pip_line(line: str, options: dict[str, Any], notes: list[str]) -> Requirement | None:
    text = line.strip()
    option, _, value = text.partition(" ")
    value = value.strip()
    if option in ("-i", "--index-url"):
        options["index-url"] = value
    elif option == "--extra-index-url":
        options.setdefault("extra-index-url", []).append(value)
    elif option in ("-f", "--find-links"):
        options.setdefault("find-links", []).append(value)
    elif option == "--pre":
        options["prerelease"] = True
    elif text.startswith("-") or text.startswith((".", "/")):
        notes.append(f"pip line {text!r} not imported: add it with 'cloche add'")
    else:
        try:
            return Requirement(text)
        except InvalidRequirement as exc:
            raise RequirementError(f"pip: {text!r} is not a valid requirement: {exc}") from None
    return None
