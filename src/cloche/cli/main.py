"""The ``cloche`` command: a lazy click group, run inside ``entry``'s error boundary."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from cloche import __version__
from cloche.cli.venv_fast import flag_count

if TYPE_CHECKING:
    from cloche.cli.context import AppContext

# Subcommands are imported only when run, so `cloche --help` stays fast and
# never imports httpx, resolvelib or rich.progress.
_COMMANDS: dict[str, tuple[str, str]] = {
    "venv": ("cloche.cli.venv_cmd", "Create a virtual environment (like python -m venv, faster)."),
    "pip": ("cloche.cli.pip_group", "pip-compatible commands: install, compile, sync, list, ..."),
    "cache": ("cloche.cli.cache_cmd", "Inspect and clean the global cache."),
    "init": ("cloche.cli.init_cmd", "Start a project: pyproject.toml and .python-version."),
    "add": ("cloche.cli.add_cmd", "Add dependencies to the project, lock and sync."),
    "remove": ("cloche.cli.remove_cmd", "Remove dependencies from the project, lock and sync."),
    "upgrade": ("cloche.cli.upgrade_cmd", "Re-lock with the newest allowed versions."),
    "lock": ("cloche.cli.lock_cmd", "Write pylock.toml for the project."),
    "sync": ("cloche.cli.sync_cmd", "Make the project's environment match pylock.toml."),
    "run": ("cloche.cli.run_cmd", "Run a command inside the project's environment."),
    "shell": ("cloche.cli.shell_cmd", "Start a shell with the project's environment activated."),
    "tree": ("cloche.cli.tree_cmd", "Show the project's dependency tree."),
    "why": ("cloche.cli.why_cmd", "Show why a package is in the project's environment."),
    "export": ("cloche.cli.export_cmd", "Export the lock: requirements, conda, docker."),
    "import": ("cloche.cli.import_cmd", "Bring requirements.txt or environment.yml over."),
    "env": ("cloche.cli.env_cmd", "Named environments: create, list, clone, remove, path, export."),
    "python": ("cloche.cli.python_cmd", "Find Python interpreters: list, find."),
    "kernel": ("cloche.cli.kernel_cmd", "Jupyter kernels for environments: install, list, remove."),
    "gpu": ("cloche.cli.gpu_cmd", "Show the GPUs found and the torch / TF / JAX builds chosen."),
    "doctor": ("cloche.cli.doctor_cmd", "Diagnose an environment and fix what is safe to fix."),
    "ray": ("cloche.cli.ray_cmd", "Ray clusters: the runtime_env plugin's node settings."),
    "bundle": (
        "cloche.cli.bundle_cmd",
        "Write the lock's wheels and an index for offline machines.",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands live in modules imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._available()})

    def _available(self) -> list[str]:
        import importlib.util  # only listings (help) look modules up

        found = []
        for name, (module, _help) in self.lazy.items():
            if importlib.util.find_spec(module) is not None:
                found.append(name)
        return found

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, _help = self.lazy[cmd_name]
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name == module_name:
                    return None
                raise
            command: click.Command = module.command
            return with_output_options(command)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, self.lazy[name][1]) for name in self.list_commands(ctx) if name in self.lazy]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _verbosity_step(step: int) -> Callable[[click.Context, click.Parameter, int], None]:
    def adjust(ctx: click.Context, _param: click.Parameter, value: int) -> None:
        from cloche.cli.context import app

        app(ctx).verbosity += step * value

    return adjust


_OUTPUT_OPTIONS = (
    ("-v", "--verbose", 1, "More output; also shows tracebacks (as the global -v)."),
    ("-q", "--quiet", -1, "Less output (as the global -q)."),
)


_NO_CACHE_HELP = "Use a temporary cache, removed when the command ends"


def _no_cache(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    from cloche.cli.context import app

    if value:
        app(ctx).no_cache = True


def _network(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def store(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        from cloche.cli.context import app

        if value is not None:
            setattr(app(ctx), name, value)

    return store


_TIMEOUT = click.FloatRange(min=0, min_open=True)
_RETRIES = click.IntRange(min=0)
_TIMEOUT_HELP = "Seconds to wait for a server (env CLOCHE_HTTP_TIMEOUT; default 30)."
_RETRIES_HELP = "Retries of a failed request (env CLOCHE_HTTP_RETRIES; default 3)."


def _network_options(taken: set[str]) -> list[click.Option]:
    """``--http-timeout``/``--http-retries``, and pip's ``--timeout``/``--retries``."""
    out = []
    for names, kind, field, text in (
        (["--http-timeout", "--timeout"], _TIMEOUT, "http_timeout", _TIMEOUT_HELP),
        (["--http-retries", "--retries"], _RETRIES, "http_retries", _RETRIES_HELP),
    ):
        free = [name for name in names if name not in taken]
        if free:
            option = click.Option(
                free, type=kind, default=None, expose_value=False, callback=_network(field)
            )
            option.help = text
            option.metavar = "SECONDS" if kind is _TIMEOUT else "N"
            out.append(option)
    return out


def with_output_options(command: click.Command) -> click.Command:
    """Let ``-v``/``-q``, ``--no-cache`` and the network options follow the subcommand
    too (``cloche pip install -q --no-cache-dir --timeout 60``), as in pip."""
    taken = {opt for param in command.params for opt in getattr(param, "opts", ())}
    if not isinstance(command, click.Group):
        command.params.extend(_network_options(taken))
    if "--no-cache" not in taken and not isinstance(command, click.Group):
        command.params.append(
            click.Option(
                ["--no-cache", "--no-cache-dir"],
                is_flag=True,
                expose_value=False,
                callback=_no_cache,
                help=_NO_CACHE_HELP + " (as the global --no-cache).",
            )
        )
    for short, long, step, text in _OUTPUT_OPTIONS:
        if short not in taken:
            command.params.append(
                click.Option(
                    [short, long],
                    count=True,
                    expose_value=False,
                    callback=_verbosity_step(step),
                    help=text,
                )
            )
    return command


@click.group(
    cls=LazyGroup,
    lazy=_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="cloche")
@click.option("-v", "--verbose", count=True, help="More output; -v also shows tracebacks.")
@click.option("-q", "--quiet", count=True, help="Less output.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Global cache directory (default: the platform cache dir; env CLOCHE_CACHE_DIR).",
)
@click.option("--offline", is_flag=True, default=None, help="Never touch the network.")
@click.option(
    "--no-cache",
    "--no-cache-dir",
    "no_cache",
    is_flag=True,
    default=None,
    help=_NO_CACHE_HELP + " (env CLOCHE_NO_CACHE).",
)
@click.option("--no-progress", is_flag=True, help="Plain lines instead of progress bars.")
@click.option(
    "--http-timeout",
    type=_TIMEOUT,
    default=None,
    metavar="SECONDS",
    expose_value=False,
    callback=_network("http_timeout"),
    help=_TIMEOUT_HELP,
)
@click.option(
    "--http-retries",
    type=_RETRIES,
    default=None,
    metavar="N",
    expose_value=False,
    callback=_network("http_retries"),
    help=_RETRIES_HELP,
)
@click.pass_context
def cli(
    ctx: click.Context,
    verbose: int,
    quiet: int,
    cache_dir: str | None,
    offline: bool | None,
    no_cache: bool | None,
    no_progress: bool,
) -> None:
    """cloche: fast, reproducible Python environments for machine learning."""
    from cloche.cli.context import app

    options = app(ctx)  # options repeated after the subcommand adjust this afterwards
    options.verbosity = verbose - quiet
    options.cache_dir = cache_dir
    options.offline = offline
    if no_cache is not None:
        options.no_cache = no_cache
    options.progress = not no_progress


def run_click(argv: list[str] | None, options: AppContext) -> int:
    """The click command's exit code; click's own errors shown as click shows them."""
    try:
        code = cli.main(args=argv, prog_name="cloche", standalone_mode=False, obj=options)
    except click.exceptions.Abort as exc:
        from cloche.cli.signals import Terminated

        if isinstance(exc.__cause__, Terminated):  # SIGTERM/SIGHUP: its own exit code
            raise exc.__cause__ from None
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    finally:
        options.close()
    return code if isinstance(code, int) else 0


def wants_traceback(args: list[str]) -> bool:
    """True when a global -v/--verbose precedes the subcommand."""
    for arg in args:
        if not arg.startswith("-"):
            return False
        if flag_count(arg, "v", "--verbose"):
            return True
    return False
