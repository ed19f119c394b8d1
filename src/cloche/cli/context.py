"""What every command gets from the top-level options."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import click

    from cloche.cli.reporter import ConsoleReporter
    from cloche.config import Settings
    from cloche.ops.services import Services


@dataclass
class AppContext:
    """The global options of one command line, and the reporter they make."""

    verbosity: int = 0
    cache_dir: str | None = None
    offline: bool | None = None
    no_cache: bool | None = None
    progress: bool = True
    env_name: str | None = None
    """``-n NAME``: the named environment a pip-style command acts on."""
    http_timeout: float | None = None
    http_retries: int | None = None
    break_system_packages: bool = False
    """``--break-system-packages``: --system may change a PEP 668 externally managed Python."""
    _reporter: ConsoleReporter | None = field(default=None, repr=False)
    _temporary_cache: Path | None = field(default=None, repr=False)
    _services: Services | None = field(default=None, repr=False)

    def settings(self, project_table: dict[str, Any] | None = None, **flags: Any) -> Settings:
        """Settings from every layer, with this invocation's flags on top.

        With ``no_cache`` the cache is a temporary directory that ``close`` removes.
        """
        from cloche.config import load_settings

        if self.cache_dir is not None:
            flags["cache_dir"] = Path(self.cache_dir)
        if self.offline is not None:
            flags.setdefault("offline", self.offline)
        if self.no_cache is not None:
            flags.setdefault("no_cache", self.no_cache)
        if self.http_timeout is not None:
            flags.setdefault("timeout", self.http_timeout)
        if self.http_retries is not None:
            flags.setdefault("retries", self.http_retries)
        settings = load_settings(flags=flags, project_table=project_table)
        if settings.no_cache:
            settings = replace(settings, cache_dir=self._scratch_cache())
        return settings

    def _scratch_cache(self) -> Path:
        if self._temporary_cache is None:
            import tempfile

            self._temporary_cache = Path(tempfile.mkdtemp(prefix="cloche-cache-"))
        return self._temporary_cache

    def services(self, settings: Settings) -> Services:
        """The store, index client and source builds of this command: the one place they
        are made (the composition root); ``close`` closes them."""
        from cloche.ops.services import Services

        if self._services is None or self._services.settings != settings:
            if self._services is not None:
                self._services.close()
            self._services = Services(settings, self.reporter)
        return self._services

    def close(self) -> None:
        """Close the command's services, then remove the temporary cache ``--no-cache``
        made, if any.

        Installed files stay: they were linked or copied out of it, not referenced.
        """
        if self._services is not None:
            self._services.close()
            self._services = None
        if self._temporary_cache is not None:
            import shutil

            shutil.rmtree(self._temporary_cache, ignore_errors=True)
            self._temporary_cache = None

    @property
    def reporter(self) -> ConsoleReporter:
        if self._reporter is None:
            from cloche.cli.reporter import ConsoleReporter

            self._reporter = ConsoleReporter(verbosity=self.verbosity, progress=self.progress)
        return self._reporter


def app(ctx: click.Context) -> AppContext:
    """The AppContext of the root command (works from nested groups)."""
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):
        obj = AppContext()
        ctx.find_root().obj = obj
    return obj
