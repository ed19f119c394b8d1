"""``cloche sync`` before click loads: the no-op answer, and a deleted ``.venv`` made again.

The command teams run most (``cloche sync``, ``cloche sync --locked`` in CI) ends,
most of the time, in one of two answers that need neither click nor packaging: the
env matches its stamp (nothing to do, ``ops.stamp``), or ``.venv`` is gone and the
sync that last made it can be replayed from links (``ops.sync_replay``). This module
parses only those command lines; anything else (another option, ``--help``, ``-v``)
returns None, as does a project neither answer fits, and the click command runs.
"""

from __future__ import annotations

import os
import sys

from cloche.cli.venv_fast import flag_count, parse_globals

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Sequence

UP_TO_DATE = "Environment is up to date"


class FastSync:
    """What a ``cloche sync`` command line asked for."""

    __slots__ = ("cache_dir", "frozen", "quiet")

    def __init__(self, quiet: int, cache_dir: str | None, frozen: bool) -> None:
        self.quiet = quiet
        self.cache_dir = cache_dir
        self.frozen = frozen


def parse(args: Sequence[str]) -> FastSync | None:
    """The request, when ``args`` is a ``sync`` command this module can answer; else None."""
    found = parse_globals(args)
    if found is None or args[found[0]] != "sync":
        return None
    index, quiet, cache_dir = found
    modes = set()
    for arg in args[index + 1 :]:
        if arg in ("--frozen", "--locked"):
            modes.add(arg)
        elif count := flag_count(arg, "q", "--quiet"):
            quiet += count
        else:
            return None
    if len(modes) > 1:
        return None  # the click command says they cannot go together
    return FastSync(quiet, cache_dir, "--frozen" in modes)


def run(request: FastSync) -> int | None:
    """Answer ``request`` and return 0; None when the click command must run."""
    from cloche.dirs import platform_cache_dir
    from cloche.ops import sync_replay
    from cloche.ops.stamp import Selection, check_stamp

    cache = request.cache_dir or os.environ.get("CLOCHE_CACHE_DIR") or platform_cache_dir()
    found = _project_root(cache)
    if found is None:
        return None
    root, stamped = found
    lines: Sequence[tuple[int, str]] | None
    if stamped and check_stamp(root, Selection(), need_fresh=not request.frozen) is not None:
        lines = [(0, UP_TO_DATE)]
    else:
        lines = sync_replay.replay(root, cache)
    if lines is None:
        return None
    shown = [text for least, text in lines if -request.quiet >= least]
    sys.stderr.write("".join(f"{text}\n" for text in shown))
    return 0


def _project_root(cache: str) -> tuple[str, bool] | None:
    """The project root as ``core.project.root.find_project_dir`` finds it, and whether
    its env has a stamp, when it has one or the cache a recipe for it (either holds its
    pyproject.toml: only one that is in the way on the walk up is parsed); else None."""
    from cloche.core.project.root import PYPROJECT, file_declares_project, parents
    from cloche.ops.stamp import stamp_path
    from cloche.ops.sync_replay import has_recipe

    for directory in parents(os.getcwd()):
        candidate = os.path.join(directory, PYPROJECT)
        if not os.path.isfile(candidate):
            continue
        stamped = os.path.isfile(stamp_path(directory))
        if stamped or has_recipe(cache, directory):
            return directory, stamped
        if file_declares_project(candidate):
            return None
    return None
