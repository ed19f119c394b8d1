"""Running PEP 517 hook subprocesses with their output captured, and showing it on failure."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

TAIL_LINES = 20


class HookFailed(Exception):
    """A hook subprocess exited non-zero; ``output`` is what it printed."""

    def __init__(self, returncode: int, output: str) -> None:
        super().__init__(returncode)
        self.returncode = returncode
        self.output = output


class CapturingRunner:
    """A pyproject-hooks runner that keeps the backend off our terminal."""

    def __init__(self, scripts_dir: Path | None, *, isolated: bool) -> None:
        self._scripts_dir = scripts_dir
        self._isolated = isolated
        self.output = ""

    def __call__(
        self,
        cmd: Sequence[str],
        cwd: str | None = None,
        extra_environ: Mapping[str, str] | None = None,
    ) -> None:
        env = dict(os.environ)
        env.update(extra_environ or {})
        if self._scripts_dir is not None:
            env["PATH"] = os.pathsep.join(filter(None, [str(self._scripts_dir), env.get("PATH")]))
        if self._isolated:
            env.pop("PYTHONPATH", None)
            env.pop("PYTHONHOME", None)
            env["PYTHONNOUSERSITE"] = "1"
        proc = subprocess.run(
            list(cmd),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
        )
        self.output = proc.stdout.decode("utf-8", errors="replace")
        if proc.returncode != 0:
            raise HookFailed(proc.returncode, self.output)


def backend_tail(output: str) -> str:
    """The backend's last lines, indented, without pyproject-hooks' own traceback frames."""
    lines: list[str] = []
    skipping = False
    for line in output.rstrip().splitlines():
        stripped = line.lstrip()
        if stripped.startswith('File "'):
            skipping = "pyproject_hooks" in stripped and "_in_process" in stripped
        elif not line.startswith(" "):
            skipping = False
        if not skipping:
            lines.append(line.rstrip())
    return "".join(f"\n  {line}" for line in lines[-TAIL_LINES:])
