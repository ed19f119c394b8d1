#!/usr/bin/env python3
"""Benchmarks: the same scenarios with cloche, uv, pip(-tools) and pdm, side by side.

Usage::

    python bench/run.py                      # every scenario
    python bench/run.py compile-cold venv    # some of them
    python bench/run.py --repeat 5 --json out.json

Each measurement is the wall time (``time.perf_counter``) of one or more
commands run with ``subprocess.run`` (output captured). Every tool gets its own
cache directory that this script controls: *cold* empties it before each
repeat, *warm* primes it once with an untimed run. Configuration files and
``PIP_*`` / ``UV_*`` / ``CLOCHE_*`` / ``PDM_*`` variables of this machine are
kept away from every tool so they all talk to the same index with their
defaults. A failing command is reported as FAILED with the last line it wrote to
stderr; a missing tool or a cloche command that does not exist yet is skipped
with a note.

Only the package index (https://pypi.org/simple/) is contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PACKAGES = ["numpy", "pandas", "scikit-learn", "matplotlib"]
SDIST_ONLY = ["docopt"]
"""Added for compile-warm-sdist: a package the index has only as an sdist, whose
metadata a PEP 517 build must tell (setuptools, dynamic requirements)."""
REAL_WORLD = [
    "pandas",
    "scikit-learn",
    "matplotlib",
    "requests",
    "fastapi",
    "sqlalchemy",
    "jupyterlab",
    "transformers",
]
"""For compile-offline: a requirements file of the kind real projects write."""
CONFLICT = ["tensorflow==2.15.0", "numpy==2.1.0"]
"""For conflict: unsatisfiable (tensorflow 2.15 needs numpy<2); every tool must say so."""
PYTHON_VERSION = "3.11"
INDEX_URL = "https://pypi.org/simple/"
COMMAND_TIMEOUT_S = 600.0
ENV_PREFIXES_DROPPED = ("PIP_", "UV_", "CLOCHE_", "PDM_")
# TLS trust only: kept so that pip trusts the same CA bundle as everyone else.
ENV_KEPT = {"PIP_CERT"}
# PYTHONDONTWRITEBYTECODE: some sandboxes set it; a user's Python tools run from
# their cached bytecode, so leaving it on would time Python's own compiler instead.
ENV_DROPPED = {
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONDONTWRITEBYTECODE",
}
# pip's once-a-week self-check is a request the others never make
PIP_FLAGS = ["--disable-pip-version-check"]
LOCK_FILES = ("pylock.toml", "uv.lock", "pdm.lock")
INSTALL_HINT = "pip install uv pip-tools pdm"


# --------------------------------------------------------------------------- tools


def find_python311() -> str:
    """An interpreter for Python 3.11: this one if it is 3.11, else python3.11 on PATH."""
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    found = shutil.which("python3.11")
    return found or sys.executable


def find_tool(name: str) -> str | None:
    """The executable ``name``, preferring the one beside this interpreter.

    The real file beats a pyenv shim: a shim is a shell script that adds tens of
    milliseconds to every call, whichever tool it fronts.
    """
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def install_cloche_tool(work: Path, python: str) -> str:
    """cloche from this checkout, installed in an environment of its own (as pipx does).

    A command-line tool lives in its own venv on a user's machine; there its start-up
    does not run the .pth files of the system site-packages (on this VM one of them
    imports certifi at every interpreter start, ~20 ms that uv never pays).
    """
    repo = Path(__file__).resolve().parent.parent
    venv = work / "cloche-tool"
    print(f"installing cloche from {repo} into {venv} (not timed) ...", flush=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *PIP_FLAGS, str(repo)],
        check=True,
    )
    return str(venv / "bin" / "cloche")


@dataclass
class Tools:
    python: str
    cloche: str | None
    uv: str | None
    pip_compile: str | None
    pdm: str | None
    work: Path
    base_env: dict[str, str]
    versions: dict[str, str] = field(default_factory=dict)
    # cache keys whose directory holds a completed run (so "warm" needs no priming)
    primed: set[str] = field(default_factory=set)

    def cache(self, key: str) -> Path:
        return self.work / "caches" / key

    def env_for(
        self, tool: str, cache: Path, extra: dict[str, str] | None = None
    ) -> dict[str, str]:
        """The environment for one tool with its cache in ``cache``."""
        env = dict(self.base_env)
        # Anything a tool caches outside the directory we name lands here too.
        env["XDG_CACHE_HOME"] = str(cache / "xdg-cache")
        env["XDG_DATA_HOME"] = str(cache / "xdg-data")
        if tool == "cloche":
            env["CLOCHE_CACHE_DIR"] = str(cache / "cloche")
        elif tool == "uv":
            env["UV_NO_CONFIG"] = "1"
            env["UV_CACHE_DIR"] = str(cache / "uv")
            env["UV_PYTHON_DOWNLOADS"] = "never"
            # The interpreter cloche finds: without it uv may run a pyenv shim (a bash
            # script, ~150 ms) on every command, which would time pyenv, not uv.
            env["UV_PYTHON"] = self.python
        elif tool in ("pip", "pip-compile"):
            env["PIP_CONFIG_FILE"] = os.devnull
            env["PIP_CACHE_DIR"] = str(cache / "pip")
        elif tool == "pdm":
            env["PDM_CACHE_DIR"] = str(cache / "pdm")
            env["PDM_CHECK_UPDATE"] = "false"
            env["PDM_PYTHON"] = self.python
            env["PDM_NON_INTERACTIVE"] = "1"
        if extra:
            env.update(extra)
        return env

    def cloche_cmd(self, cache: Path, *args: str) -> list[str]:
        return [self.cloche or "cloche", "--cache-dir", str(cache / "cloche"), *args]

    def uv_compile(self, req_in: str, out: Path, *args: str) -> list[str]:
        """``uv pip compile`` for Python 3.11, run with cloche's interpreter (not a shim)."""
        py = ["--python-version", PYTHON_VERSION, "--python", self.python]
        return [self.uv or "uv", "pip", "compile", req_in, "-o", str(out), *py, *args]


def make_base_env(work: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k in ENV_KEPT or not (k.startswith(ENV_PREFIXES_DROPPED) or k in ENV_DROPPED)
    }
    config_home = work / "xdg-config"  # empty: no user config for any tool
    config_home.mkdir(parents=True, exist_ok=True)
    env["XDG_CONFIG_HOME"] = str(config_home)
    env["NO_COLOR"] = "1"
    return env


def tool_version(argv: list[str], env: dict[str, str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"? ({exc})"
    text = (proc.stdout or proc.stderr).strip().splitlines()
    return text[0] if text else "?"


def cloche_has(tools: Tools, *subcommand: str) -> str | None:
    """None if ``cloche <subcommand> --help`` works, else why not."""
    if tools.cloche is None:
        return "cloche not found (pip install -e . in the repo)"
    cmd = [tools.cloche, *subcommand, "--help"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=tools.base_env, timeout=60)
    if proc.returncode != 0:
        return f"`cloche {' '.join(subcommand)} --help` failed: {last_line(proc.stderr)}"
    return None


# --------------------------------------------------------------------------- running


def last_line(text: str | bytes | None) -> str:
    """The line that says what went wrong: the last ``error`` line, else the last line."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    if not lines:
        return "(no output)"
    errors = [ln for ln in lines if re.match(r"(?i)(error|fatal)\b", ln) or "Error:" in ln]
    return (errors or lines)[-1][:240]


class CommandFailed(Exception):
    pass


def run_cmd(
    argv: Sequence[str], env: dict[str, str], cwd: Path, fails_naming: str | None = None
) -> float:
    """Run one command; return its wall time, raise CommandFailed on a non-zero exit.

    With ``fails_naming`` the command must fail instead, naming that text.
    """
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            list(argv),
            capture_output=True,
            env=env,
            cwd=cwd,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(f"timed out after {COMMAND_TIMEOUT_S:.0f}s: {argv[0]}") from exc
    except OSError as exc:
        raise CommandFailed(f"{argv[0]}: {exc}") from exc
    elapsed = time.perf_counter() - start
    if fails_naming is not None:
        said = (proc.stderr or b"").decode(errors="replace") + (proc.stdout or b"").decode(
            errors="replace"
        )
        if proc.returncode == 0 or fails_naming not in said:
            name = Path(argv[0]).name
            raise CommandFailed(
                f"{name} exit {proc.returncode}, expected a failure naming "
                f"{fails_naming!r}: {last_line(proc.stderr or proc.stdout)}"
            )
        return elapsed
    if proc.returncode != 0:
        name = Path(argv[0]).name
        raise CommandFailed(
            f"{name} exit {proc.returncode}: {last_line(proc.stderr or proc.stdout)}"
        )
    return elapsed


def rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


_TRASH: list[Path] = []
_set_aside_count = itertools.count()


def set_aside(path: Path) -> None:
    """Move ``path`` out of the way, to be deleted when the bench ends.

    Deleting the ~7,000 files of a cache or venv right before a timed run slows the
    run: ext4 without a journal (as on some VMs) skips every inode freed in the
    last 60-300 s when it allocates a new one, one inode-table lookup each, so the
    next run of any tool spent up to 2 s of system time in the allocator. A cold
    install on a user's machine does not come seconds after deleting 14,000 files.
    """
    if not path.exists() and not path.is_symlink():
        return
    if not _TRASH:
        rmtree(path)
        return
    _TRASH[0].mkdir(parents=True, exist_ok=True)
    path.rename(_TRASH[0] / str(next(_set_aside_count)))


@dataclass
class Step:
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    fails_naming: str | None = None
    """Set for a command that must fail (an unsatisfiable request), naming this text."""


@dataclass
class Case:
    """One tool in one scenario: ``steps`` are timed together, ``setup`` is not."""

    tool: str
    steps: Callable[[], list[Step]]
    setup: Callable[[], None] = lambda: None
    prime: Callable[[], None] | None = None  # untimed run before the repeats
    repeat: int | None = None  # overrides the scenario's repeat count
    after_success: Callable[[], None] = lambda: None
    baseline: bool = False  # a reference row: shown, never compared in targets


def simple_case(
    tool: str,
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    setup: Callable[[], None] = lambda: None,
    repeat: int | None = None,
    baseline: bool = False,
) -> Case:
    """A case that runs one fixed command."""
    return Case(
        tool,
        lambda: [Step(argv, env, cwd)],
        setup=setup,
        repeat=repeat,
        baseline=baseline,
    )


def placeholder(tool: str) -> Case:
    """A case for a tool that is skipped (it never runs)."""
    return Case(tool, list)


@dataclass
class Result:
    tool: str
    times: list[float] = field(default_factory=list)
    step_times: list[list[float]] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None
    baseline: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.skipped is None and bool(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tool": self.tool, "times": self.times}
        if self.ok:
            out["median"] = self.median
            out["min"] = min(self.times)
        if self.step_times:
            out["step_times"] = self.step_times
        if self.error:
            out["error"] = self.error
        if self.skipped:
            out["skipped"] = self.skipped
        return out


@dataclass
class Target:
    """cloche's median must be at most ``max_ratio`` times ``other``'s (or ``max_s`` seconds)."""

    label: str
    other: str | None = None
    max_ratio: float | None = None
    max_s: float | None = None
    strict: bool = False  # ratio must be < max_ratio


@dataclass
class Outcome:
    label: str
    status: str  # MET, NOT MET, n/a
    detail: str


def evaluate(target: Target, results: dict[str, Result]) -> Outcome:
    mine = results.get("cloche")
    if mine is None or not mine.ok:
        return Outcome(target.label, "n/a", "no cloche result")
    if target.max_s is not None:
        ok = mine.median <= target.max_s
        detail = f"cloche {fmt_s(mine.median)} (limit {fmt_s(target.max_s)})"
        return Outcome(target.label, "MET" if ok else "NOT MET", detail)
    assert target.other is not None and target.max_ratio is not None
    other = results.get(target.other)
    if other is None or not other.ok:
        return Outcome(target.label, "n/a", f"no {target.other} result")
    ratio = mine.median / other.median
    ok = ratio < target.max_ratio if target.strict else ratio <= target.max_ratio
    if target.max_ratio < 1:
        speedup = other.median / mine.median
        need = 1 / target.max_ratio
        detail = f"{target.other}/cloche = {speedup:.1f}x (need >= {need:.0f}x)"
    else:
        op = "<" if target.strict else "<="
        detail = f"cloche/{target.other} = {ratio:.2f}x (need {op} {target.max_ratio:g}x)"
    return Outcome(target.label, "MET" if ok else "NOT MET", detail)


def measure_interleaved(cases: list[Case], repeat: int) -> list[Result]:
    """Round-robin the repeats over the tools so a noisy neighbour hits them alike."""
    results = [Result(c.tool, baseline=c.baseline) for c in cases]
    for case, result in zip(cases, results, strict=True):
        if case.prime is None:
            continue
        try:
            case.prime()
        except CommandFailed as exc:
            result.error = f"priming: {exc}"
    rounds = max((c.repeat or repeat) for c in cases) if cases else 0
    for i in range(rounds):
        for case, result in zip(cases, results, strict=True):
            if result.error is not None or i >= (case.repeat or repeat):
                continue
            try:
                case.setup()
                # Flush what earlier runs and the setup wrote or deleted, so its writeback
                # does not land in this run's time, whichever tool caused it.
                os.sync()
                times = [run_cmd(s.argv, s.env, s.cwd, s.fails_naming) for s in case.steps()]
            except CommandFailed as exc:
                result.error = str(exc)
                continue
            result.step_times.append(times)
            result.times.append(sum(times))
            case.after_success()
    return results


# --------------------------------------------------------------------------- output


def fmt_s(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    return f"{seconds:.2f}s"


@dataclass
class ScenarioReport:
    name: str
    description: str
    results: list[Result] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.name,
            "description": self.description,
            "results": [r.as_json() for r in self.results],
            "targets": [o.__dict__ for o in self.outcomes],
            "notes": self.notes,
            **self.extra,
        }


def print_report(rep: ScenarioReport) -> None:
    print(f"\n== {rep.name}: {rep.description}")
    by_tool = {r.tool: r for r in rep.results}
    mine = by_tool.get("cloche")
    if rep.results:
        print(f"   {'tool':<14}{'median':>9}{'min':>9}  {'n':>2}   ratio")
        for r in rep.results:
            if r.skipped:
                print(f"   {r.tool:<14}{'skipped':>9}   {r.skipped}")
                continue
            if r.error:
                print(f"   {r.tool:<14}{'FAILED':>9}   {r.error}")
                continue
            ratio = ""
            if r.tool != "cloche" and not r.baseline and mine is not None and mine.ok:
                ratio = f"cloche/{r.tool} = {mine.median / r.median:.2f}x"
            med, low = fmt_s(r.median), fmt_s(min(r.times))
            print(f"   {r.tool:<14}{med:>9}{low:>9}  {len(r.times):>2}   {ratio}")
    for line in rep.extra.get("table", []):
        print(f"   {line}")
    if rep.outcomes:
        print("   targets:")
        for o in rep.outcomes:
            print(f"     [{o.status:^7}] {o.label}: {o.detail}")
    for note in rep.notes:
        print(f"   note: {note}")


# --------------------------------------------------------------------------- scenarios


class Bench:
    def __init__(self, tools: Tools, repeat: int) -> None:
        self.t = tools
        self.repeat = repeat
        self.work = tools.work
        self.req_in = self.work / "requirements.in"
        self.req_in.write_text("\n".join(PACKAGES) + "\n")
        self._req_txt: Path | None = None
        self._req_txt_error: str | None = None

    # -- helpers

    def scratch(self, *parts: str) -> Path:
        path = self.work.joinpath("scratch", *parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def fresh_dir(self, *parts: str) -> Path:
        path = self.scratch(*parts)
        set_aside(path)
        path.mkdir(parents=True)
        return path

    def wipe(self, key: str) -> Callable[[], None]:
        def setup() -> None:
            set_aside(self.t.cache(key))
            self.t.primed.discard(key)

        return setup

    @staticmethod
    def remover(path: Path) -> Callable[[], None]:
        return lambda: set_aside(path)

    def mark_primed(self, key: str) -> Callable[[], None]:
        return lambda: self.t.primed.add(key)

    def req_txt(self) -> Path:
        """The pinned set, compiled once (with uv, else cloche, else pip-compile)."""
        if self._req_txt is not None:
            return self._req_txt
        if self._req_txt_error is not None:
            raise CommandFailed(self._req_txt_error)
        out = self.work / "requirements.txt"
        cache = self.t.cache("pins")
        attempts: list[tuple[list[str], dict[str, str]]] = []
        if self.t.uv:
            argv = self.t.uv_compile(str(self.req_in), out)
            attempts.append((argv, self.t.env_for("uv", cache)))
        if self.t.cloche:
            argv = self.t.cloche_cmd(cache, "pip", "compile", str(self.req_in), "-o", str(out))
            argv += ["--python-version", PYTHON_VERSION]
            attempts.append((argv, self.t.env_for("cloche", cache)))
        if self.t.pip_compile:
            argv = [self.t.pip_compile, "-q", str(self.req_in), "-o", str(out)]
            argv += ["--cache-dir", str(cache / "pip-tools")]
            attempts.append((argv, self.t.env_for("pip-compile", cache)))
        errors = []
        for argv, env in attempts:
            try:
                run_cmd(argv, env, self.work)
            except CommandFailed as exc:
                errors.append(str(exc))
                continue
            self._req_txt = out
            return out
        self._req_txt_error = "could not compile the pinned set: " + "; ".join(
            errors or ["no tool"]
        )
        raise CommandFailed(self._req_txt_error)

    def skips(self, *needs: tuple[str, ...] | str) -> dict[str, str]:
        """Why each tool is skipped: a tuple is a cloche subcommand, a str another tool."""
        out: dict[str, str] = {}
        for need in needs:
            if isinstance(need, tuple):
                why = cloche_has(self.t, *need)
                if why and "cloche" not in out:
                    out["cloche"] = why
            else:
                why = self.missing(need)
                if why:
                    out[need] = why
        return out

    def missing(self, tool: str) -> str | None:
        path = {"uv": self.t.uv, "pip-compile": self.t.pip_compile, "pdm": self.t.pdm}.get(tool)
        if tool in ("uv", "pip-compile", "pdm") and path is None:
            return f"{tool} not found ({INSTALL_HINT})"
        return None

    def run_cases(
        self,
        name: str,
        description: str,
        cases: list[Case],
        targets: list[Target],
        skips: dict[str, str],
    ) -> ScenarioReport:
        rep = ScenarioReport(name, description)
        runnable = [c for c in cases if c.tool not in skips]
        results = {r.tool: r for r in measure_interleaved(runnable, self.repeat)}
        for c in cases:
            if c.tool in skips:
                results[c.tool] = Result(c.tool, skipped=skips[c.tool])
        rep.results = [results[c.tool] for c in cases]
        rep.outcomes = [evaluate(t, results) for t in targets]
        return rep

    def cached_case(
        self,
        tool: str,
        key: str,
        warm: bool,
        commands: Callable[[Path], list[list[str]]],
        scratch: Path,
        repeat: int | None = None,
        *,
        priming: Callable[[Path], list[list[str]]] | None = None,
        fails_naming: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> Case:
        """A tool whose cache ``key`` is emptied before each repeat (cold) or primed once (warm).

        ``commands(cache)`` gives the timed commands; ``scratch`` (their output: a
        venv, a requirements.txt) is removed before each run and they run in its parent.
        """
        cache = self.t.cache(key)
        env = self.t.env_for(tool, cache, extra_env)
        cwd = scratch.parent
        cwd.mkdir(parents=True, exist_ok=True)

        def setup() -> None:
            set_aside(scratch)
            if not warm:
                self.wipe(key)()

        def steps() -> list[Step]:
            return [Step(argv, env, cwd, fails_naming) for argv in commands(cache)]

        def prime() -> None:
            if key in self.t.primed:
                return
            setup()
            for argv in (priming or commands)(cache):
                run_cmd(argv, env, cwd, fails_naming)
            self.t.primed.add(key)

        return Case(
            tool,
            steps,
            setup=setup,
            prime=prime if warm else None,
            repeat=repeat,
            after_success=self.mark_primed(key),
        )

    # -- 1. compile

    def scenario_compile(self, warm: bool, *, sdist: bool = False) -> ScenarioReport:
        name = ("compile-warm" if warm else "compile-cold") + ("-sdist" if sdist else "")
        kind = "after one priming run" if warm else "empty caches each repeat"
        packages = PACKAGES + SDIST_ONLY if sdist else PACKAGES
        desc = f"resolve {' '.join(packages)} for Python {PYTHON_VERSION} ({kind})"
        skips = self.skips(("pip", "compile"), "uv", "pip-compile")
        req_in_path = self.req_in
        if sdist:
            req_in_path = self.work / "requirements-sdist.in"
            req_in_path.write_text("\n".join(packages) + "\n")
        req_in = str(req_in_path)
        pc = self.t.pip_compile or "pip-compile"
        prefix = "compile-sdist" if sdist else "compile"

        def out(tool: str) -> Path:
            return self.scratch(f"{prefix}-{tool}", "requirements.txt")

        o_cl, o_uv, o_pc = out("cloche"), out("uv"), out("pip-compile")
        py_v = ["--python-version", PYTHON_VERSION]
        commands: dict[str, tuple[Path, Callable[[Path], list[list[str]]]]] = {
            "cloche": (
                o_cl,
                lambda c: [
                    [*self.t.cloche_cmd(c, "pip", "compile", req_in), "-o", str(o_cl), *py_v]
                ],
            ),
            "uv": (
                o_uv,
                lambda c: [self.t.uv_compile(req_in, o_uv)],
            ),
            "pip-compile": (
                o_pc,
                lambda c: [
                    [pc, "-q", req_in, "-o", str(o_pc), "--cache-dir", str(c / "pip-tools")]
                ],
            ),
        }
        cases = [
            self.cached_case(tool, f"{prefix}-{tool}", warm, build, output)
            for tool, (output, build) in commands.items()
        ]
        targets = [
            Target("cloche within 2x of uv", "uv", 2.0),
            Target("cloche faster than pip-compile", "pip-compile", 1.0, strict=True),
        ]
        rep = self.run_cases(name, desc, cases, targets, skips)
        rep.notes.append("pip-compile resolves for the interpreter it runs on (3.11)")
        outputs = {"cloche": o_cl, "uv": o_uv, "pip-compile": o_pc}
        pins = {t: read_pins(o) for t, o in outputs.items() if by_tool(rep)[t].ok and o.exists()}
        if len(pins) > 1:
            rep.notes.extend(compare_pins(pins))
        return rep

    def scenario_compile_offline(
        self, name: str = "compile-offline", packages: Sequence[str] = REAL_WORLD
    ) -> ScenarioReport:
        """Every page and metadata cached, ``--offline`` for both: start-up and decoding."""
        desc = (
            f"resolve {' '.join(packages)} for Python {PYTHON_VERSION}, offline, "
            "after one online priming run"
        )
        skips = self.skips(("pip", "compile"), "uv")
        req_in_path = self.work / f"requirements-{name}.in"
        req_in_path.write_text("\n".join(packages) + "\n")
        req_in = str(req_in_path)
        py_v = ["--python-version", PYTHON_VERSION]
        o_cl = self.scratch(f"{name}-cloche", "requirements.txt")
        o_uv = self.scratch(f"{name}-uv", "requirements.txt")

        def cloche(cache: Path, *offline: str) -> list[list[str]]:
            args = [*offline, "pip", "compile", req_in, "-o", str(o_cl), *py_v]
            return [self.t.cloche_cmd(cache, *args)]

        def uv_cmd(cache: Path, *offline: str) -> list[list[str]]:
            return [self.t.uv_compile(req_in, o_uv, *offline)]

        cases = [
            self.cached_case(
                "cloche",
                f"{name}-cloche",
                True,
                lambda c: cloche(c, "--offline"),
                o_cl,
                priming=cloche,
            ),
            self.cached_case(
                "uv",
                f"{name}-uv",
                True,
                lambda c: uv_cmd(c, "--offline"),
                o_uv,
                priming=uv_cmd,
            ),
        ]
        # The floor under any Python tool that uses packaging (DESIGN.md's library for
        # versions, specifiers, markers and tags): starting cloche's own interpreter and
        # importing the parts a resolve needs, nothing resolved.
        tool_python = Path(self.t.cloche).parent / "python" if self.t.cloche else None
        if tool_python is not None and tool_python.exists():
            floor = [str(tool_python), "-c", "import packaging.requirements, packaging.utils"]
            cwd = o_cl.parent
            cases.append(
                simple_case("import packaging", floor, self.t.base_env, cwd, baseline=True)
            )
        targets = [Target("cloche within 3x of uv", "uv", 3.0)]
        rep = self.run_cases(name, desc, cases, targets, skips)
        results = by_tool(rep)
        if all(t in results and results[t].ok for t in ("import packaging", "uv")):
            share = results["import packaging"].median / results["uv"].median
            rep.notes.append(
                f"python + import packaging alone takes {share:.2f}x uv's whole run "
                "(the floor for a tool built on packaging)"
            )
        pins = {
            t: read_pins(o)
            for t, o in (("cloche", o_cl), ("uv", o_uv))
            if by_tool(rep)[t].ok and o.exists()
        }
        if len(pins) > 1:
            rep.notes.extend(compare_pins(pins))
        return rep

    def scenario_conflict(self) -> ScenarioReport:
        """An unsatisfiable request on the real index: how fast each tool says so."""
        name = "conflict"
        desc = f"resolve {' '.join(CONFLICT)} (unsatisfiable), warm caches; must fail naming numpy"
        skips = self.skips(("pip", "compile"), "uv")
        req_in_path = self.work / "requirements-conflict.in"
        req_in_path.write_text("\n".join(CONFLICT) + "\n")
        req_in = str(req_in_path)
        py_v = ["--python-version", PYTHON_VERSION]
        o_cl = self.scratch("conflict-cloche", "requirements.txt")
        o_uv = self.scratch("conflict-uv", "requirements.txt")
        cases = [
            self.cached_case(
                "cloche",
                "conflict-cloche",
                True,
                lambda c: [self.t.cloche_cmd(c, "pip", "compile", req_in, "-o", str(o_cl), *py_v)],
                o_cl,
                fails_naming="numpy",
            ),
            self.cached_case(
                "uv",
                "conflict-uv",
                True,
                lambda c: [self.t.uv_compile(req_in, o_uv)],
                o_uv,
                fails_naming="numpy",
            ),
        ]
        targets = [
            Target("cloche says why in under 2 s", max_s=2.0),
            Target("cloche within 3x of uv", "uv", 3.0),
        ]
        return self.run_cases(name, desc, cases, targets, skips)

    # -- 2. install

    def scenario_install(self, warm: bool) -> ScenarioReport:
        name = "install-warm" if warm else "install-cold"
        kind = "warm cache" if warm else "empty cache each repeat"
        desc = f"pinned set into a NEW venv, venv creation included ({kind})"
        try:
            req = str(self.req_txt())
        except CommandFailed as exc:
            return ScenarioReport(name, desc, notes=[f"skipped: {exc}"])
        skips = self.skips(("venv",), ("pip", "sync"), "uv")
        py = self.t.python
        uv = self.t.uv or "uv"

        def venv(tool: str) -> Path:
            return self.scratch(f"install-{tool}", "v")

        v_cl, v_uv, v_pip = venv("cloche"), venv("uv"), venv("pip")
        commands: dict[str, tuple[Path, Callable[[Path], list[list[str]]]]] = {
            "cloche": (
                v_cl,
                lambda c: [
                    self.t.cloche_cmd(c, "venv", str(v_cl), "--python", py),
                    self.t.cloche_cmd(c, "pip", "sync", "--python", str(v_cl), req),
                ],
            ),
            "uv": (
                v_uv,
                lambda c: [
                    [uv, "venv", str(v_uv), "--python", py],
                    [uv, "pip", "sync", "--python", str(v_uv / "bin" / "python"), req],
                ],
            ),
            "venv+pip": (
                v_pip,
                lambda c: [
                    [py, "-m", "venv", str(v_pip)],
                    [str(v_pip / "bin" / "pip"), "install", *PIP_FLAGS, "-r", req],
                ],
            ),
        }
        cases = [
            self.cached_case(
                tool,
                f"install-{tool}",
                warm,
                build,
                path,
                repeat=1 if tool == "venv+pip" else None,  # pip is slow: once
            )
            for tool, (path, build) in commands.items()
        ]
        factor = 1.5 if warm else 2.0
        targets = [
            Target(f"cloche within {factor:g}x of uv", "uv", factor),
            Target("cloche >= 15x faster than venv+pip", "venv+pip", 1 / 15),
        ]
        rep = self.run_cases(name, desc, cases, targets, skips)
        n = sum(1 for ln in Path(req).read_text().splitlines() if "==" in ln)
        rep.notes.append(f"{n} pins; venv+pip runs once (slow)")
        rep.notes.extend(step_breakdown(rep, ("venv", "install")))
        rep.notes.extend(speedup_notes(rep, "venv+pip", ("uv",)))
        return rep

    # -- 3. venv

    def scenario_venv(self) -> ScenarioReport:
        desc = "create an empty venv (no pip)"
        skips = self.skips(("venv",), "uv")
        py = self.t.python
        cases: list[Case] = []
        commands: dict[str, Callable[[Path], list[str]]] = {
            "cloche": lambda v: [self.t.cloche or "cloche", "venv", str(v), "--python", py],
            "uv": lambda v: [self.t.uv or "uv", "venv", str(v), "--python", py],
            "python -m venv": lambda v: [py, "-m", "venv", "--without-pip", str(v)],
        }
        for tool, build in commands.items():
            key = f"venv-{tool.replace(' ', '_')}"
            venv = self.scratch(key, "v")
            env = self.t.env_for(tool, self.t.cache(key))
            setup = self.remover(venv)
            repeat = max(self.repeat, 5)
            cases.append(simple_case(tool, build(venv), env, venv.parent, setup, repeat))
        targets = [Target("cloche within 2x of uv", "uv", 2.0)]
        return self.run_cases("venv", desc, cases, targets, skips)

    # -- 4. disk

    def scenario_disk(self) -> ScenarioReport:
        desc = "the pinned set in 5 venvs (warm cache): disk used, hardlinks counted once"
        rep = ScenarioReport("disk-5-venvs", desc)
        try:
            req = self.req_txt()
        except CommandFailed as exc:
            rep.notes.append(f"skipped: {exc}")
            return rep
        if shutil.which("du") is None:
            rep.notes.append("skipped: no du")
            return rep
        py = self.t.python
        rows: dict[str, dict[str, Any]] = {}
        why_cloche = cloche_has(self.t, "venv") or cloche_has(self.t, "pip", "sync")
        for tool in ("cloche", "uv"):
            if tool == "cloche" and why_cloche:
                rep.notes.append(f"cloche skipped: {why_cloche}")
                continue
            if tool == "uv" and self.t.uv is None:
                rep.notes.append(f"uv skipped: uv not found ({INSTALL_HINT})")
                continue
            key = f"disk-{tool}"
            cache = self.t.cache(key)
            set_aside(cache)
            env = self.t.env_for(tool, cache)
            root = self.fresh_dir(key)
            venvs = [root / f"v{i}" for i in range(5)]
            try:
                for v in venvs:  # the first fills the cache, the rest are warm
                    if tool == "cloche":
                        cmds = [
                            self.t.cloche_cmd(cache, "venv", str(v), "--python", py),
                            self.t.cloche_cmd(cache, "pip", "sync", "--python", str(v), str(req)),
                        ]
                    else:
                        uv = self.t.uv or "uv"
                        cmds = [
                            [uv, "venv", str(v), "--python", py],
                            [uv, "pip", "sync", "--python", str(v / "bin" / "python"), str(req)],
                        ]
                    for argv in cmds:
                        run_cmd(argv, env, root)
            except CommandFailed as exc:
                rep.notes.append(f"{tool} FAILED: {exc}")
                continue
            caches = [p for p in cache.iterdir()] if cache.exists() else []
            rows[tool] = {
                "1 venv": du([venvs[0]]),
                "1 venv + cache": du([venvs[0], *caches]),
                "5 venvs + cache": du([*venvs, *caches]),
                "5 venvs apparent (-l)": du(venvs, count_links=True),
                "cache": du(caches) if caches else 0,
            }
        if rows:
            cols = ["1 venv", "cache", "1 venv + cache", "5 venvs + cache", "5 venvs apparent (-l)"]
            heads = ["1 venv", "cache", "1+cache", "5+cache", "5 apparent"]
            table = [f"{'tool':<14}" + "".join(f"{h:>11}" for h in heads) + f"{'5/1':>8}"]
            for tool, r in rows.items():
                growth = r["5 venvs + cache"] / max(r["1 venv + cache"], 1)
                r["ratio 5/1"] = growth
                cells = "".join(f"{fmt_kib(r[c]):>11}" for c in cols)
                table.append(f"{tool:<14}{cells}{growth:>7.2f}x")
            rep.extra["table"] = table
            rep.extra["disk_kib"] = rows
            if "cloche" in rows:
                growth = rows["cloche"]["ratio 5/1"]
                ok = growth <= 1.1
                rep.outcomes.append(
                    Outcome(
                        "cloche: 5 venvs + cache ≈ 1 venv + cache",
                        "MET" if ok else "NOT MET",
                        f"5/1 = {growth:.2f}x (need <= 1.10x)",
                    )
                )
        rep.notes.append(
            "MiB from du -sk, which counts a hardlinked inode once per call;"
            " '5 apparent' is du -skl over the 5 venvs (every link counted)"
        )
        return rep

    # -- 5. project commands

    def project_dir(self, tool: str, purpose: str) -> Path:
        root = self.fresh_dir(f"{purpose}-{tool}")
        deps = ",\n".join(f'    "{p}"' for p in PACKAGES)
        (root / "pyproject.toml").write_text(
            "[project]\n"
            'name = "bench-project"\n'
            'version = "0.1.0"\n'
            f'requires-python = ">={PYTHON_VERSION}"\n'
            f"dependencies = [\n{deps},\n]\n"
            "\n[tool.pdm]\ndistribution = false\n"
        )
        (root / ".python-version").write_text(PYTHON_VERSION + "\n")
        return root

    def project_env(self, tool: str, cache: Path) -> dict[str, str]:
        return self.t.env_for(tool, cache)

    def scenario_lock(self) -> ScenarioReport:
        desc = "lock a project depending on the set, cold cache (requires-python >= 3.11)"
        skips = self.skips(("lock",), "uv", "pdm")
        lock_names = {"cloche": "pylock.toml", "uv": "uv.lock", "pdm": "pdm.lock"}
        lock_cmd: dict[str, Callable[[Path], list[str]]] = {
            "cloche": lambda c: self.t.cloche_cmd(c, "lock"),
            "uv": lambda c: [self.t.uv or "uv", "lock"],
            "pdm": lambda c: [self.t.pdm or "pdm", "lock"],
        }
        cases = []
        for tool, build in lock_cmd.items():
            key = f"lock-{tool}"
            cache = self.t.cache(key)
            root = self.project_dir(tool, "lock")
            env = self.project_env(tool, cache)
            setup = self.lock_setup(root, key)
            cases.append(simple_case(tool, build(cache), env, root, setup))
        targets = [
            Target("cloche within 2x of uv", "uv", 2.0),
            Target("cloche faster than pdm", "pdm", 1.0, strict=True),
        ]
        rep = self.run_cases("lock", desc, cases, targets, skips)
        pins = {}
        for tool, name in lock_names.items():
            path = self.scratch(f"lock-{tool}", name)
            if by_tool(rep)[tool].ok and path.exists():
                pins[tool] = read_lock_pins(path)
        if len(pins) > 1:
            rep.notes.extend(compare_pins(pins))
            rep.notes.append("x,y = a lock pinned both: one version per Python range (a fork)")
        return rep

    def lock_setup(self, root: Path, key: str) -> Callable[[], None]:
        def setup() -> None:
            for name in LOCK_FILES:
                (root / name).unlink(missing_ok=True)
            self.wipe(key)()

        return setup

    def synced_project(self, tool: str, purpose: str) -> tuple[Path, dict[str, str]]:
        """A project with a lock and an environment in sync with it (untimed)."""
        key = f"{purpose}-{tool}"
        cache = self.t.cache(key)
        set_aside(cache)
        root = self.project_dir(tool, purpose)
        env = self.project_env(tool, cache)
        if tool == "cloche":
            cmds = [self.t.cloche_cmd(cache, "lock"), self.t.cloche_cmd(cache, "sync")]
        else:
            uv = self.t.uv or "uv"
            cmds = [[uv, "lock"], [uv, "sync"]]
        for argv in cmds:
            run_cmd(argv, env, root)
        return root, env

    def synced_tools(
        self, purpose: str, skips: dict[str, str], cases: list[Case]
    ) -> Iterator[tuple[str, Path, dict[str, str]]]:
        """cloche and uv, each with a project synced for ``purpose``; a tool that is
        skipped or fails to prepare gets a placeholder case (and why, in ``skips``)."""
        for tool in ("cloche", "uv"):
            if tool in skips:
                cases.append(placeholder(tool))
                continue
            try:
                root, env = self.synced_project(tool, purpose)
            except CommandFailed as exc:
                skips[tool] = f"FAILED preparing: {exc}"
                cases.append(placeholder(tool))
                continue
            yield tool, root, env

    def project_argv(self, tool: str, purpose: str, command: str) -> list[str]:
        """``cloche COMMAND`` (with the purpose's cache) or ``uv COMMAND``."""
        if tool == "cloche":
            return self.t.cloche_cmd(self.t.cache(f"{purpose}-{tool}"), command)
        return [self.t.uv or "uv", command]

    def scenario_sync_fresh(self, *, cold: bool = False) -> ScenarioReport:
        purpose = "sync-cold" if cold else "sync-fresh"
        cache = "empty cache each repeat (CI, a new machine)" if cold else "warm cache"
        desc = f"`sync` of a locked project into a new .venv, {cache}"
        skips = self.skips(("lock",), ("sync",), "uv")
        cases: list[Case] = []
        for tool, root, env in self.synced_tools(purpose, skips, cases):
            argv = self.project_argv(tool, purpose, "sync")
            venv = root / ".venv"
            wipe = self.wipe(f"{purpose}-{tool}") if cold else (lambda: None)

            def setup(v: Path = venv, wipe: Callable[[], None] = wipe) -> None:
                set_aside(v)
                wipe()

            cases.append(simple_case(tool, argv, env, root, setup=setup))
        # Cold: the downloads dominate, shown to track the gap. Warm: issue 21's target.
        targets = [] if cold else [Target("cloche within 1.5x of uv", "uv", 1.5)]
        return self.run_cases(purpose, desc, cases, targets, skips)

    def scenario_noop(self, purpose: str) -> ScenarioReport:
        if purpose == "sync-noop":
            desc = "`sync` of a project already in sync with its lock"
            need: tuple[str, ...] = ("lock", "sync")
            target = Target("cloche no-op sync < 150 ms", max_s=0.150)
        else:
            desc = "`run python -c pass` in a project already in sync"
            need = ("lock", "sync", "run")
            target = Target("cloche run < 200 ms", max_s=0.200)
        skips = self.skips(*((sub,) for sub in need), "uv")
        command = "sync" if purpose == "sync-noop" else "run"
        repeat = max(self.repeat, 5)
        cases: list[Case] = []
        baseline_python: Path | None = None
        for tool, root, env in self.synced_tools(purpose, skips, cases):
            argv = self.project_argv(tool, purpose, command)
            if tool == "uv":
                baseline_python = root / ".venv" / "bin" / "python"
            if command == "run":
                argv += ["python", "-c", "pass"]
            cases.append(simple_case(tool, argv, env, root, repeat=repeat))
        if purpose == "run-noop" and baseline_python is not None:
            argv = [str(baseline_python), "-c", "pass"]
            cwd = baseline_python.parent
            cases.append(
                simple_case(
                    "python -c pass", argv, self.t.base_env, cwd, repeat=repeat, baseline=True
                )
            )
        rep = self.run_cases(purpose, desc, cases, [target], skips)
        if purpose == "run-noop":
            rep.notes.append("'python -c pass' is the bare interpreter start-up, for reference")
        return rep

    # -- gpu

    def scenario_gpu(self) -> ScenarioReport:
        desc = "`cloche gpu` warm (its answer kept on disk, checked against its inputs)"
        skips = self.skips(("gpu",))
        cache = self.t.cache("gpu")
        env = self.t.env_for("cloche", cache)
        cwd = self.scratch("gpu", "cwd")
        cwd.mkdir(parents=True, exist_ok=True)
        argv = [self.t.cloche or "cloche", "gpu"]
        repeat = max(self.repeat, 10)
        case = simple_case("cloche", argv, env, cwd, repeat=repeat)
        case.prime = lambda: run_cmd(argv, env, cwd)  # the cold detection, untimed
        baseline = [self.t.python, "-c", "pass"]
        cases = [
            case,
            simple_case("python -c pass", baseline, env, cwd, repeat=repeat, baseline=True),
        ]
        target = Target("cloche gpu warm < 50 ms", max_s=0.050)
        rep = self.run_cases("gpu", desc, cases, [target], skips)
        rep.notes.append("'python -c pass' is the bare interpreter start-up, for reference")
        return rep

    # -- named environments

    def scenario_env_clone(self) -> ScenarioReport:
        desc = "`env clone` of an env with the packages vs `cp -a` of it (the conda-style copy)"
        name = "env-clone"
        skips = self.skips(("env", "clone"))
        rep = ScenarioReport(name, desc)
        if "cloche" in skips:
            rep.notes.append(f"skipped: {skips['cloche']}")
            return rep
        cache = self.t.cache(name)
        envs = self.fresh_dir(name, "envs")
        env = self.t.env_for("cloche", cache, {"CLOCHE_ENVS_DIR": str(envs)})
        source, clone, copy = envs / "src", envs / "clone", self.scratch(name, "copy")
        try:  # the source env, untimed (its cache is this scenario's)
            run_cmd(self.t.cloche_cmd(cache, "env", "create", "src", *PACKAGES), env, envs)
        except CommandFailed as exc:
            rep.notes.append(f"skipped: creating the source env failed: {exc}")
            return rep
        argv = [self.t.cloche or "cloche", "env", "clone", "src", "clone", "-q"]
        repeat = max(self.repeat, 5)
        floor = self.scratch(name, "linked")

        def before_clone() -> None:
            set_aside(clone)
            # Deleted, not set aside: its links would make the source's files look shared.
            rmtree(floor)

        cases = [
            simple_case("cloche", argv, env, envs, before_clone, repeat),
            simple_case(
                "cp -a", ["cp", "-a", str(source), str(copy)], env, envs, self.remover(copy)
            ),
        ]
        cases[1].repeat = repeat
        # The floor of any clone by hardlinks: the same links made by cp, in C.
        cases.append(
            simple_case(
                "cp -al",
                ["cp", "-al", str(source), str(floor)],
                env,
                envs,
                self.remover(floor),
                repeat,
                baseline=True,
            )
        )
        targets = [
            Target("cloche >= 20x faster than cp -a", "cp -a", 1 / 20),
            Target("cloche env clone < 0.5 s", max_s=0.5),
        ]
        rep = self.run_cases(name, desc, cases, targets, {})
        size, added = own_bytes(copy), own_bytes(clone)
        if size and clone.exists():
            share = added / size
            rep.outcomes.append(
                Outcome(
                    "the clone adds < 5% of the env to the disk",
                    "MET" if share < 0.05 else "NOT MET",
                    f"{added / 1e6:.2f} MB of {size / 1e6:.0f} MB ({100 * share:.2f}%)",
                )
            )
        rep.notes.append("disk added: blocks of the files nothing else links, each counted once")
        rep.notes.append("'cp -al' (hardlinks only, no rewriting) is the floor, for reference")
        return rep

    def scenario_env_create(self) -> ScenarioReport:
        desc = "`env create NAME packages` vs `uv venv && uv pip install packages` (warm cache)"
        name = "env-create"
        skips = self.skips(("env", "create"), "uv")
        py, uv = self.t.python, self.t.uv or "uv"
        envs = self.scratch(name, "cloche-envs")
        venv = self.scratch(name, "uv", "v")
        cloche_env = {"CLOCHE_ENVS_DIR": str(envs)}
        cases = [
            self.cached_case(
                "cloche",
                f"{name}-cloche",
                True,
                lambda c: [self.t.cloche_cmd(c, "env", "create", "e", "--python", py, *PACKAGES)],
                envs / "e",
                extra_env=cloche_env,
            ),
            self.cached_case(
                "uv",
                f"{name}-uv",
                True,
                lambda c: [
                    [uv, "venv", str(venv), "--python", py],
                    [uv, "pip", "install", "--python", str(venv / "bin" / "python"), *PACKAGES],
                ],
                venv,
            ),
        ]
        targets = [Target("cloche within 1.3x of uv", "uv", 1.3)]
        rep = self.run_cases(name, desc, cases, targets, skips)
        rep.notes.append("the same unpinned names for both: each resolves, from a warm cache")
        return rep


def step_breakdown(rep: ScenarioReport, names: Sequence[str]) -> list[str]:
    """One note per tool: the median of each timed command."""
    notes = []
    for r in rep.results:
        if not r.ok or len(r.step_times[0]) != len(names):
            continue
        medians = [statistics.median(t[i] for t in r.step_times) for i in range(len(names))]
        parts = " + ".join(f"{n} {fmt_s(m)}" for n, m in zip(names, medians, strict=True))
        notes.append(f"{r.tool}: {parts}")
    return notes


def speedup_notes(rep: ScenarioReport, baseline: str, tools: Sequence[str]) -> list[str]:
    """How many times faster than ``baseline`` each of ``tools`` was in this run.

    Shown beside cloche's target ratio: a baseline that is fast in one run asks
    for more of every tool, not only of cloche.
    """
    found = by_tool(rep)
    base = found.get(baseline)
    if base is None or not base.ok:
        return []
    return [
        f"{tool}: {baseline}/{tool} = {base.median / found[tool].median:.1f}x"
        for tool in tools
        if tool in found and found[tool].ok and found[tool].median > 0
    ]


def by_tool(rep: ScenarioReport) -> dict[str, Result]:
    return {r.tool: r for r in rep.results}


def compare_pins(pins: dict[str, dict[str, str]]) -> list[str]:
    """Notes saying whether the tools pinned the same set."""
    (ref_tool, ref), *others = pins.items()
    same = [ref_tool]
    notes = []
    for tool, mine in others:
        if mine == ref:
            same.append(tool)
            continue
        only_mine = sorted(f"{n}=={v}" for n, v in mine.items() if ref.get(n) != v)
        only_ref = sorted(f"{n}=={v}" for n, v in ref.items() if mine.get(n) != v)
        notes.append(f"pins differ, {tool}: {only_mine or '-'} vs {ref_tool}: {only_ref or '-'}")
    if len(same) > 1:
        notes.insert(0, f"{', '.join(same)} pinned the same {len(ref)} packages")
    return notes


def read_pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file, names normalised."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0].strip().rstrip("\\").strip()
        name, sep, version = line.partition("==")
        if sep and name:
            pins[re.sub(r"[-_.]+", "-", name.strip()).lower()] = version.strip()
    return pins


def read_lock_pins(path: Path) -> dict[str, str]:
    """name -> version(s) in a pylock.toml, uv.lock or pdm.lock (the project itself left out)."""
    data = tomllib.loads(path.read_text())
    found: dict[str, set[str]] = {}
    for pkg in data.get("packages", []) + data.get("package", []):
        name = re.sub(r"[-_.]+", "-", str(pkg.get("name", ""))).lower()
        if name and name != "bench-project" and "version" in pkg:
            found.setdefault(name, set()).add(str(pkg["version"]))
    return {name: ",".join(sorted(vs)) for name, vs in found.items()}


def du(paths: Sequence[Path], count_links: bool = False) -> int:
    """Disk used by ``paths`` together, in KiB (hardlinked inodes once unless ``count_links``)."""
    paths = [p for p in paths if p.exists()]
    if not paths:
        return 0
    argv = ["du", "-s", "-c", "-k"] + (["-l"] if count_links else []) + [str(p) for p in paths]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    for line in reversed(proc.stdout.splitlines()):
        size, _, label = line.partition("\t")
        if label == "total":
            return int(size)
    return 0


def own_bytes(root: Path) -> int:
    """Bytes allocated to the files under ``root`` that nothing else links."""
    total = 0
    for directory, _dirs, files in os.walk(root):
        for file_name in files:
            st = os.lstat(Path(directory, file_name))
            if st.st_nlink == 1:
                total += st.st_blocks * 512
    return total


def fmt_kib(kib: int) -> str:
    if kib >= 1024 * 1024:
        return f"{kib / 1024 / 1024:.2f} GiB"
    return f"{kib / 1024:.0f} MiB"


SCENARIOS: dict[str, Callable[[Bench], ScenarioReport]] = {
    "compile-cold": lambda b: b.scenario_compile(warm=False),
    "compile-warm": lambda b: b.scenario_compile(warm=True),
    "compile-warm-sdist": lambda b: b.scenario_compile(warm=True, sdist=True),
    "compile-offline": lambda b: b.scenario_compile_offline(),
    "compile-offline-small": lambda b: b.scenario_compile_offline(
        "compile-offline-small", PACKAGES
    ),
    "conflict": lambda b: b.scenario_conflict(),
    "install-cold": lambda b: b.scenario_install(warm=False),
    "install-warm": lambda b: b.scenario_install(warm=True),
    "venv": lambda b: b.scenario_venv(),
    "disk-5-venvs": lambda b: b.scenario_disk(),
    "lock": lambda b: b.scenario_lock(),
    "sync-fresh": lambda b: b.scenario_sync_fresh(),
    "sync-cold": lambda b: b.scenario_sync_fresh(cold=True),
    "sync-noop": lambda b: b.scenario_noop("sync-noop"),
    "run-noop": lambda b: b.scenario_noop("run-noop"),
    "gpu": lambda b: b.scenario_gpu(),
    "env-clone": lambda b: b.scenario_env_clone(),
    "env-create": lambda b: b.scenario_env_create(),
}


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run cloche / uv / pip / pdm side by side and print ratios.",
        epilog="Scenarios: " + ", ".join(SCENARIOS),
    )
    parser.add_argument("scenarios", nargs="*", metavar="scenario", help="default: all")
    parser.add_argument("--repeat", type=int, default=3, help="repeats per tool (median)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the work dir under /tmp")
    parser.add_argument(
        "--tool",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="use this executable for cloche, uv, pip-compile or pdm (repeatable)",
    )
    parser.add_argument(
        "--drop-caches",
        action="store_true",
        help="before each scenario, sync and drop the kernel's page, dentry and inode caches "
        "(Linux, root): see 'How it measures' in bench/README.md",
    )
    parser.add_argument(
        "--cloche-beside",
        action="store_true",
        help="time the cloche beside this interpreter instead of installing this checkout "
        "into a tool venv of its own",
    )
    args = parser.parse_args(argv)
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(
            f"unknown scenario(s): {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}"
        )
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    if args.drop_caches and not os.access(DROP_CACHES, os.W_OK):
        parser.error(f"--drop-caches needs Linux and root: it writes {DROP_CACHES}")
    for item in args.tool:
        name, sep, path = item.partition("=")
        if not sep or name not in ("cloche", "uv", "pip-compile", "pdm") or not path:
            parser.error(f"--tool {item!r}: expected cloche|uv|pip-compile|pdm=PATH")
    return args


DROP_CACHES = "/proc/sys/vm/drop_caches"


def settle(probes: dict[str, list[str] | None], env: dict[str, str]) -> None:
    """Start a scenario from a clean kernel state, with every tool read back in.

    Deleting thousands of files (an earlier bench's work dir, a cleaned cache) slows
    creating new ones for minutes on some VMs: ext4 without a journal skips each inode
    freed in the last 60-300 s, and a dentry and inode cache grown to hundreds of
    thousands of entries slows every lookup. A cold install, which creates ~7,000
    files, then took twice as long for cloche and uv alike (pip less, relatively).
    """
    os.sync()
    Path(DROP_CACHES).write_text("3\n")
    for probe in probes.values():
        if probe:
            tool_version(probe, env)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    names = args.scenarios or list(SCENARIOS)
    work = Path(tempfile.mkdtemp(prefix="cloche-bench-", dir="/tmp"))
    _TRASH.append(work / "trash")
    base_env = make_base_env(work)
    given = dict(item.partition("=")[::2] for item in args.tool)

    def locate(name: str) -> str | None:
        return given.get(name) or find_tool(name)

    python = find_python311()
    cloche = given.get("cloche")
    if cloche is None:
        cloche = find_tool("cloche") if args.cloche_beside else install_cloche_tool(work, python)
    tools = Tools(
        python=python,
        cloche=cloche,
        uv=locate("uv"),
        pip_compile=locate("pip-compile"),
        pdm=locate("pdm"),
        work=work,
        base_env=base_env,
    )
    probes: dict[str, list[str] | None] = {
        "python": [tools.python, "--version"],
        "cloche": [tools.cloche, "--version"] if tools.cloche else None,
        "uv": [tools.uv, "--version"] if tools.uv else None,
        "pip": [tools.python, "-m", "pip", "--version"],
        "pip-compile": [tools.pip_compile, "--version"] if tools.pip_compile else None,
        "pdm": [tools.pdm, "--version"] if tools.pdm else None,
    }
    for name, probe in probes.items():
        tools.versions[name] = tool_version(probe, base_env) if probe else "not found"
    started = dt.datetime.now()
    print(f"cloche bench, {started:%Y-%m-%d %H:%M}, {platform.node()}, {os.cpu_count()} cpus")
    print(f"work dir {work}, repeat {args.repeat}, packages: {' '.join(PACKAGES)}")
    for name, version in tools.versions.items():
        print(f"  {name:<12} {version}")
    print(f"  cloche at    {tools.cloche}")
    missing = [n for n in ("uv", "pip-compile", "pdm") if tools.versions[n] == "not found"]
    if missing:
        print(f"  note: {', '.join(missing)} missing; install with `{INSTALL_HINT}`")
    if args.drop_caches:
        print("  note: kernel caches dropped before each scenario (--drop-caches)")

    bench = Bench(tools, args.repeat)
    reports: list[ScenarioReport] = []
    try:
        for name in names:
            if args.drop_caches:
                settle(probes, base_env)
            t0 = time.perf_counter()
            try:
                rep = SCENARIOS[name](bench)
            except OSError as exc:  # a full disk, say: the other scenarios still run
                print(f"\n== {name}: stopped by {exc.strerror or exc} ({exc.filename or ''})")
                continue
            rep.extra["wall_s"] = round(time.perf_counter() - t0, 1)
            print_report(rep)
            sys.stdout.flush()
            reports.append(rep)
    except KeyboardInterrupt:
        print("\ninterrupted")
    finally:
        if not args.keep:
            rmtree(work)
    total = (dt.datetime.now() - started).total_seconds()
    print(f"\ntotal {total:.0f}s")
    if args.json:
        data = {
            "date": started.isoformat(timespec="seconds"),
            "machine": {"node": platform.node(), "cpus": os.cpu_count()},
            "repeat": args.repeat,
            "drop_caches": args.drop_caches,
            "packages": PACKAGES,
            "versions": tools.versions,
            "scenarios": [r.as_json() for r in reports],
        }
        args.json.write_text(json.dumps(data, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
