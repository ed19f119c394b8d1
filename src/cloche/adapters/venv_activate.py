"""Activation scripts, rendered from the target interpreter's own ``venv`` templates.

CPython's substitution rules changed over time: before 3.13 the prompt is
wrapped as ``(name) ``, and releases carrying gh-124651 shell-quote every value.
Rather than keep a table of releases (the quoting fix was backported), read the
rules from the target's ``venv/__init__.py`` itself.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from cloche.errors import EnvironmentError_

_OLD_PROMPT = re.compile(r"context\.prompt\s*=\s*'\(%s\) '\s*%")


@dataclass(frozen=True, slots=True)
class ActivationContext:
    """The values CPython's venv substitutes into its script templates."""

    env_dir: str
    env_name: str
    prompt: str
    bin_name: str
    env_exe: str


@dataclass(frozen=True, slots=True)
class _Rules:
    wrap_prompt: bool
    quote: bool


def write_activation_scripts(
    stdlib: Path, os_name: str, bin_dir: Path, context: ActivationContext
) -> list[Path]:
    """Render ``<stdlib>/venv/scripts/{common,<os_name>}/*`` into ``bin_dir``.

    Returns the written paths; nothing is written when the stdlib has no templates.
    """
    scripts = stdlib / "venv" / "scripts"
    if not scripts.is_dir():
        return []
    rules = _read_rules(stdlib / "venv" / "__init__.py")
    written: list[Path] = []
    for folder in ("common", os_name):
        source_dir = scripts / folder
        if not source_dir.is_dir():
            continue
        for source in sorted(source_dir.iterdir()):
            if not source.is_file() or source.suffix in (".exe", ".pdb"):
                continue
            target = bin_dir / source.name
            try:
                text = source.read_bytes().decode("utf-8")
            except UnicodeError:
                continue  # CPython skips binary files here too
            except OSError as exc:
                raise EnvironmentError_(f"cannot read venv template {source}: {exc}") from None
            rendered = render(text, source.name, context, rules)
            try:
                target.unlink(missing_ok=True)
                target.write_bytes(rendered.encode("utf-8"))
                target.chmod(source.stat().st_mode & 0o777)
            except OSError as exc:
                raise EnvironmentError_(f"cannot write {target}: {exc}") from None
            written.append(target)
    return written


def render(text: str, script_name: str, context: ActivationContext, rules: _Rules) -> str:
    """Substitute the ``__VENV_*__`` placeholders of one template."""
    prompt = f"({context.prompt}) " if rules.wrap_prompt else context.prompt
    values = {
        "__VENV_DIR__": context.env_dir,
        "__VENV_NAME__": context.env_name,
        "__VENV_PROMPT__": prompt,
        "__VENV_BIN_NAME__": context.bin_name,
        "__VENV_PYTHON__": context.env_exe,
    }
    if rules.quote:
        values = {key: _quote(value, script_name) for key, value in values.items()}
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def _quote(value: str, script_name: str) -> str:
    if script_name.endswith(".ps1"):
        return "'" + value.replace("'", "''") + "'"
    if script_name.endswith(".bat"):
        return value
    return shlex.quote(value)


def _read_rules(venv_init: Path) -> _Rules:
    try:
        source = venv_init.read_text(encoding="utf-8")
    except (OSError, UnicodeError):
        # No source to read: assume the rules of the newest CPython.
        return _Rules(wrap_prompt=False, quote=True)
    return _Rules(wrap_prompt=bool(_OLD_PROMPT.search(source)), quote="shlex.quote" in source)
