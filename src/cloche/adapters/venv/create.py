"""Create virtual environments directly, without running ``python -m venv``.

The layout comes from the base interpreter's probe (its venv sysconfig scheme),
so with a cached probe creating a venv starts no subprocess at all. pip is not
installed here: seeding goes through cloche's own installer.

Probing and the probe cache belong to ``adapters.python``: the caller hands in
the base interpreter's probe and records the one returned for the new venv
(see ``ops.venv_create`` and ``cli.venv_fast``).

``cloche venv`` is timed against tools written in Rust, so this module and what
it imports stay light: ``os.path`` strings, no pathlib, dataclasses or packaging
(see ``adapters.python.cache``).
"""

from __future__ import annotations

import os

import cloche
from cloche.adapters.venv.activate import ActivationContext, write_activation_scripts
from cloche.core.os_errors import os_error_hint, os_error_text
from cloche.errors import UnusableEnvError

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Collection, Mapping
    from typing import Any


def make_venv_files(
    path: str,
    base: Mapping[str, Any],
    *,
    version: str,
    prompt: str | None = None,
    clear: bool = False,
    system_site_packages: bool = False,
    allow_existing: bool = False,
    keep: Collection[str] = (),
) -> tuple[list[str], dict[str, Any]]:
    """Create the venv at ``path`` from the interpreter whose (usable) probe is ``base``.

    ``keep``: files that ``clear`` leaves in place (the env lock the caller holds).

    ``version`` is that interpreter's version as PEP 440 text, for ``pyvenv.cfg``.
    ``clear`` wipes an existing environment first; ``allow_existing`` keeps what is
    there and refreshes configuration, links and scripts. Returns the venv's
    executables (its ``python`` first) and its probe data, which the caller records
    so later commands on the venv run no probe.
    """
    if os.name == "nt":
        raise UnusableEnvError(
            "creating virtual environments on Windows is not supported yet; "
            "use 'python -m venv' there"
        )
    if prompt == ".":  # like CPython (bpo-38901): the current directory's name
        prompt = os.path.basename(os.getcwd())
    venv_dir = os.path.normpath(os.path.abspath(path))
    created = not os.path.lexists(venv_dir)
    _prepare_directory(venv_dir, clear=clear, allow_existing=allow_existing, keep=keep)
    try:
        return _populate(venv_dir, base, version, prompt, system_site_packages)
    except BaseException:
        if created:
            import shutil

            shutil.rmtree(venv_dir, ignore_errors=True)
        raise


def venv_paths(base: Mapping[str, Any], venv_dir: str) -> dict[str, str]:
    """sysconfig paths of a venv at ``venv_dir`` made from the probed interpreter ``base``."""
    prefix = str(base["base_prefix"])
    return {
        key: value.replace("@VENV@", venv_dir).replace("@BASE@", prefix)
        for key, value in base["venv_paths"].items()
    }


def _populate(
    venv_dir: str,
    base: Mapping[str, Any],
    version: str,
    prompt: str | None,
    system_site_packages: bool,
) -> tuple[list[str], dict[str, Any]]:
    paths = venv_paths(base, venv_dir)
    bin_dir = paths["scripts"]
    try:
        for key in ("scripts", "purelib", "platlib"):
            os.makedirs(paths[key], exist_ok=True)
        _link_lib64(venv_dir, base)
        _write_pyvenv_cfg(
            venv_dir, base, version, prompt=prompt, system_site_packages=system_site_packages
        )
        executables = _link_executables(bin_dir, base)
        with open(os.path.join(venv_dir, ".gitignore"), "w", encoding="utf-8") as fh:
            fh.write("# Created by cloche automatically.\n*\n")
    except OSError as exc:
        raise UnusableEnvError(
            f"cannot create virtual environment at {venv_dir}: {os_error_text(exc)}",
            hint=os_error_hint(exc),
        ) from None
    name = os.path.basename(venv_dir)
    write_activation_scripts(
        str(base["stdlib"]),
        str(base["os_name"]),
        bin_dir,
        ActivationContext(
            env_dir=venv_dir,
            env_name=name,
            prompt=prompt if prompt is not None else name,
            bin_name=os.path.relpath(bin_dir, venv_dir),
            env_exe=executables[0],
        ),
    )
    data = dict(base)
    data["prefix"] = venv_dir
    data["paths"] = paths
    return executables, data


def _prepare_directory(
    venv_dir: str, *, clear: bool, allow_existing: bool, keep: Collection[str] = ()
) -> None:
    if os.path.islink(venv_dir) and not os.path.exists(venv_dir):
        raise UnusableEnvError(f"{venv_dir} is a broken symlink; remove it or pick another path")
    if os.path.exists(venv_dir) and not os.path.isdir(venv_dir):
        raise UnusableEnvError(f"{venv_dir} exists and is not a directory; pick another path")
    if not os.path.exists(venv_dir):
        try:
            os.makedirs(venv_dir)
        except OSError as exc:
            raise UnusableEnvError(
                f"cannot create {venv_dir}: {os_error_text(exc)}", hint=os_error_hint(exc)
            ) from None
        return
    try:
        entries = [os.path.join(venv_dir, name) for name in os.listdir(venv_dir)]
    except OSError as exc:
        raise UnusableEnvError(f"cannot read {venv_dir}: {exc}") from None
    if not entries:
        return
    if clear:
        if not os.path.isfile(os.path.join(venv_dir, "pyvenv.cfg")):
            raise UnusableEnvError(
                f"refusing to clear {venv_dir}: it is not a virtual environment (no pyvenv.cfg)"
            )
        _clear(venv_dir, entries, {os.path.normpath(k) for k in keep})
    elif not allow_existing:
        raise UnusableEnvError(
            f"{venv_dir} already exists and is not empty; pass --clear to replace it "
            "or --allow-existing to update it in place"
        )


def _clear(venv_dir: str, entries: list[str], keep: set[str]) -> None:
    import shutil

    try:
        for entry in entries:
            if entry in keep:
                continue
            if os.path.isdir(entry) and not os.path.islink(entry):
                if any(k.startswith(entry + os.sep) for k in keep):
                    _clear(entry, [os.path.join(entry, n) for n in os.listdir(entry)], keep)
                else:
                    shutil.rmtree(entry)
            else:
                os.unlink(entry)
    except OSError as exc:
        raise UnusableEnvError(f"cannot clear {venv_dir}: {exc}") from None


def _link_lib64(venv_dir: str, base: Mapping[str, Any]) -> None:
    # CPython adds lib64 -> lib on 64-bit POSIX except macOS (bpo-21197).
    lib64 = os.path.join(venv_dir, "lib64")
    wanted = base["is_64bit"] and base["os_name"] == "posix" and base["sys_platform"] != "darwin"
    if wanted and os.path.isdir(os.path.join(venv_dir, "lib")) and not os.path.lexists(lib64):
        os.symlink("lib", lib64)


def _write_pyvenv_cfg(
    venv_dir: str,
    base: Mapping[str, Any],
    version: str,
    *,
    prompt: str | None,
    system_site_packages: bool,
) -> None:
    base_exe = str(base["base_executable"])
    lines = [
        f"home = {os.path.dirname(base_exe)}",
        f"include-system-site-packages = {'true' if system_site_packages else 'false'}",
        f"version = {version}",
        f"executable = {base_exe}",
        f"command = cloche venv --python {base_exe} {venv_dir}",
    ]
    if prompt is not None:
        lines.append(f"prompt = {prompt!r}")
    lines.append(f"cloche = {cloche.__version__}")
    with open(os.path.join(venv_dir, "pyvenv.cfg"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def _link_executables(bin_dir: str, base: Mapping[str, Any]) -> list[str]:
    info = base["version_info"]
    major, minor = info[0], info[1]
    names = ["python", f"python{major}", f"python{major}.{minor}"]
    if base.get("gil_disabled"):
        names.append(f"python{major}.{minor}t")
    if base["implementation"] == "pypy":
        names += ["pypy", f"pypy{major}", f"pypy{major}.{minor}"]
    links = []
    for name in names:
        link = os.path.join(bin_dir, name)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(str(base["base_executable"]), link)
        links.append(link)
    return links
