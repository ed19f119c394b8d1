"""``cloche cache dir|info|clean|prune``."""

from __future__ import annotations

import click

from cloche.cli.context import app


@click.group("cache")
def command() -> None:
    """Inspect and clean cloche's global cache.

    One cache serves every environment: archives kept by sha256, each wheel
    unpacked once and linked into environments, index pages and metadata.
    """


@command.command("dir")
@click.pass_context
def dir_(ctx: click.Context) -> None:
    """Print the cache directory."""
    click.echo(str(app(ctx).settings().cache_dir))


@command.command("info")
@click.pass_context
def info(ctx: click.Context) -> None:
    """Show what the cache holds and the disk it uses."""
    from cloche.adapters.store import StoreMaintenance

    settings = app(ctx).settings()
    store_info = StoreMaintenance(settings.cache_dir).info()
    click.echo(f"cache: {settings.cache_dir}")
    for bucket in store_info.buckets:
        click.echo(f"  {bucket.name:<16} {bucket.entries:>7} entries  {_size(bucket.bytes):>10}")
    click.echo(f"  {'total':<16} {'':>7}          {_size(store_info.total_bytes):>10}")


@command.command("clean")
@click.argument("package", required=False)
@click.pass_context
def clean(ctx: click.Context, package: str | None) -> None:
    """Remove everything from the cache, or every entry of PACKAGE."""
    from cloche.adapters.store import StoreMaintenance

    freed = StoreMaintenance(app(ctx).settings().cache_dir).clean(package)
    what = f"entries of {package}" if package else "the cache"
    click.echo(f"Removed {what} ({_size(freed)} freed)")


@command.command("prune")
@click.pass_context
def prune(ctx: click.Context) -> None:
    """Remove unused entries: leftovers of interrupted runs, old cache formats and
    records of wheels no longer in the cache."""
    from cloche.adapters.store import StoreMaintenance

    freed = StoreMaintenance(app(ctx).settings().cache_dir).prune()
    click.echo(f"Pruned the cache ({_size(freed)} freed)")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
