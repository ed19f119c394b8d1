"""``cloche ray plugin-env``: what to set on a Ray cluster's nodes for the ``cloche`` field."""

from __future__ import annotations

import json

import click

# Named, not imported: the CLI never imports Ray (cloche.integrations needs the ray extra).
PLUGIN_CLASS = "cloche.integrations.ray_plugin.ClochePlugin"
DRIVER_HOOK = "cloche.integrations.ray_plugin.resolve_runtime_env"


@click.group("ray")
def command() -> None:
    """Run Ray jobs in locked envs: runtime_env={"cloche": {"lock": "pylock.toml"}}.

    Needs cloche installed with its ray extra (pip install 'cloche[ray]') in the
    Python that runs Ray on every node.
    """


@command.command("plugin-env")
@click.option(
    "--export",
    "as_export",
    is_flag=True,
    help="Print shell export lines: the nodes' plugin variable and the driver's hook.",
)
def plugin_env(as_export: bool) -> None:
    """Print the RAY_RUNTIME_ENV_PLUGINS value to set on every node before 'ray start'.

    The driver also wants RAY_RUNTIME_ENV_HOOK=cloche.integrations.ray_plugin.resolve_runtime_env,
    which reads the lock there and rejects a bad field before any node sees it.
    """
    value = json.dumps([{"class": PLUGIN_CLASS}])
    if not as_export:
        click.echo(value)
        return
    click.echo(f"export RAY_RUNTIME_ENV_PLUGINS='{value}'")
    click.echo(f"export RAY_RUNTIME_ENV_HOOK={DRIVER_HOOK}")
