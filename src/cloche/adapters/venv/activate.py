"""Activation scripts, rendered from the target interpreter's own ``venv`` templates.

CPython's substitution rules changed over time: before 3.13 the prompt is
wrapped as ``(name) ``, and releases carrying gh-124651 shell-quote every value.
Rather than keep a table of releases (the quoting fix was backported), read the
rules from the target's ``venv/__init__.py`` itself.

This runs on ``cloche venv``'s start-up path: plain classes and ``os.path``, no
dataclasses or pathlib (see ``adapters.python.cache``).
"""

from __future__ import annotations

import os

from cloche.errors import UnusableEnvError

# The CPythons that wrap the prompt in parentheses themselves say so in venv/__init__.py.
_OLD_PROMPT = "context.prompt = '(%s) ' %"
# What shlex.quote leaves bare (no ``re`` on this start-up path: it costs more than
# the rest of the activation scripts).
_SHELL_SAFE = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-"
)


class ActivationContext:
    """The values CPython's venv substitutes into its script templates."""

    __slots__ = ("bin_name", "env_dir", "env_exe", "env_name", "prompt")

    def __init__(self, env_dir: str, env_name: str, prompt: str, bin_name: str, env_exe: str):
        self.env_dir = env_dir
        self.env_name = env_name
        self.prompt = prompt
        self.bin_name = bin_name
        self.env_exe = env_exe


def write_activation_scripts(
    stdlib: str | os.PathLike[str],
    os_name: str,
    bin_dir: str | os.PathLike[str],
    context: ActivationContext,
) -> list[str]:
    """Render ``<stdlib>/venv/scripts/{common,<os_name>}/*`` into ``bin_dir``.

    Returns the written paths; nothing is written when the stdlib has no templates.
    """
    scripts = os.path.join(stdlib, "venv", "scripts")
    if not os.path.isdir(scripts):
        return []
    wrap_prompt, quote = _read_rules(os.path.join(stdlib, "venv", "__init__.py"))
    written: list[str] = []
    for folder in ("common", os_name):
        source_dir = os.path.join(scripts, folder)
        try:
            names = sorted(os.listdir(source_dir))
        except OSError:
            continue
        for name in names:
            source = os.path.join(source_dir, name)
            if name.endswith((".exe", ".pdb")) or not os.path.isfile(source):
                continue
            try:
                with open(source, "rb") as fh:
                    text = fh.read().decode("utf-8")
                mode = os.stat(source).st_mode & 0o777
            except UnicodeError:
                continue  # CPython skips binary files here too
            except OSError as exc:
                raise UnusableEnvError(f"cannot read venv template {source}: {exc}") from None
            target = os.path.join(bin_dir, name)
            _write(target, render(text, name, context, wrap_prompt, quote), mode)
            written.append(target)
    return written


def _write(target: str, text: str, mode: int) -> None:
    try:
        if os.path.lexists(target):
            os.unlink(target)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
        os.chmod(target, mode)
    except OSError as exc:
        raise UnusableEnvError(f"cannot write {target}: {exc}") from None


def render(
    text: str, script_name: str, context: ActivationContext, wrap_prompt: bool, quote: bool
) -> str:
    """Substitute the ``__VENV_*__`` placeholders of one template."""
    prompt = f"({context.prompt}) " if wrap_prompt else context.prompt
    values = {
        "__VENV_DIR__": context.env_dir,
        "__VENV_NAME__": context.env_name,
        "__VENV_PROMPT__": prompt,
        "__VENV_BIN_NAME__": context.bin_name,
        "__VENV_PYTHON__": context.env_exe,
    }
    if quote:
        values = {key: _quote(value, script_name) for key, value in values.items()}
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def _quote(value: str, script_name: str) -> str:
    if script_name.endswith(".ps1"):
        return "'" + value.replace("'", "''") + "'"
    if script_name.endswith(".bat"):
        return value
    return shell_quote(value)


def shell_quote(value: str) -> str:
    """``value`` as one POSIX shell word: as ``shlex.quote`` writes it."""
    if not value:
        return "''"
    if all(c in _SHELL_SAFE for c in value):
        return value
    return "'" + value.replace("'", "'\"'\"'") + "'"


def _read_rules(venv_init: str) -> tuple[bool, bool]:
    """(wrap the prompt in parentheses, shell-quote the values) for this CPython."""
    try:
        with open(venv_init, encoding="utf-8") as fh:
            source = fh.read()
    except (OSError, UnicodeError):
        # No source to read: assume the rules of the newest CPython.
        return False, True
    return _OLD_PROMPT in source, "shlex.quote" in source
