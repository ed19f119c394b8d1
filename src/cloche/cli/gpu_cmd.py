"""``cloche gpu``: what was detected, and the torch / TensorFlow / JAX build chosen."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from cloche.cli.context import app

if TYPE_CHECKING:
    from cloche.config import Settings
    from cloche.core.variants.frameworks import Selection
    from cloche.core.variants.select import FrameworkChoice
    from cloche.ops.gpu import ToolTable


@click.command("gpu")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
@click.option(
    "--accelerator",
    metavar="NAME",
    help="Choose for this accelerator instead of detecting: auto, cpu, mps, cu118 ... cu130, "
    "rocmX.Y, xpu (env CLOCHE_ACCELERATOR).",
)
@click.option(
    "--cuda-policy",
    type=click.Choice(["compatible", "strict"]),
    default=None,
    help="compatible: a driver runs any CUDA of its major (default); strict: only up to "
    "its own CUDA version (env CLOCHE_CUDA_POLICY).",
)
@click.option("--python-version", metavar="X.Y", help="Only releases with wheels for it.")
@click.pass_context
def command(
    ctx: click.Context,
    as_json: bool,
    accelerator: str | None,
    cuda_policy: str | None,
    python_version: str | None,
) -> None:
    """Show the GPUs and drivers found, and the torch / TensorFlow / JAX builds this
    machine would get, each with the reason."""
    from pathlib import Path

    from cloche.ops.gpu import GpuAsk, choose_for_machine, project_tool_table

    state = app(ctx)
    tool = project_tool_table(Path.cwd())
    settings = state.settings(tool.table)
    ask = GpuAsk(accelerator=accelerator, cuda_policy=cuda_policy, python=python_version)
    selection = choose_for_machine(settings, ask)
    err = "".join(f"warning: {warning}\n" for warning in selection.machine.warnings)
    out = json.dumps(selection_json(selection), indent=2) + "\n" if as_json else render(selection)
    click.echo(err, err=True, nl=False)
    click.echo(out, nl=False)
    _remember(settings, tool, (out, err))


def _remember(settings: Settings, tool: ToolTable, answer: tuple[str, str]) -> None:
    """Keep the answer for the fast path (``cli.gpu_fast``) when this command line is one
    it answers: the same question, with no flag that changed the settings."""
    import sys

    from cloche.adapters.accel.answers import remember
    from cloche.adapters.accel.detect import CACHE_NAME
    from cloche.cli.gpu_fast import parse
    from cloche.dirs import user_config_file
    from cloche.ops.gpu import catalog_file

    request = parse(sys.argv[1:])
    if request is None:
        return
    files = [
        str(settings.cache_dir / CACHE_NAME),
        str(catalog_file(settings)),
        user_config_file(),
        *map(str, tool.read),
    ]
    remember(request.cache_dir, request.question, answer, files, tool.ended)


def selection_json(selection: Selection) -> dict[str, Any]:
    machine = selection.machine
    detected = machine.to_json()
    return {
        "accelerator": selection.accelerator,
        "vendor": machine.vendor,
        "driver_version": machine.driver_version,
        "cuda_driver_version": detected["cuda_driver_version"],
        "rocm_version": machine.rocm_version,
        "gpus": detected["gpus"],
        "source": machine.source,
        "warnings": list(machine.warnings),
        "torch": _choice_json(selection.torch),
        "tensorflow": _choice_json(selection.tensorflow),
        "jax": _choice_json(selection.jax),
    }


def _choice_json(choice: FrameworkChoice) -> dict[str, Any]:
    return {
        "variant": choice.variant,
        "release": choice.release,
        "index_url": choice.index_url,
        "extra": choice.extra,
        "local_label": choice.local_label,
        "reason": choice.reason,
    }


def render(selection: Selection) -> str:
    """The human table: machine first, then one row and one reason per framework."""
    machine = selection.machine
    rows = [("accelerator", selection.accelerator)]
    if machine.driver_version or machine.cuda_driver_version:
        cuda = machine.cuda_driver_version
        driver = machine.driver_version or "unknown"
        rows.append(("driver", driver + (f" (CUDA {cuda[0]}.{cuda[1]})" if cuda else "")))
    if machine.rocm_version:
        rows.append(("ROCm", machine.rocm_version))
    for index, gpu in enumerate(machine.gpus):
        parts = [gpu.name]
        if gpu.memory_mb:
            parts.append(f"{gpu.memory_mb} MiB")
        if gpu.compute_capability:
            parts.append("sm_{}{}".format(*gpu.compute_capability))
        if gpu.gfx:
            parts.append(gpu.gfx)
        rows.append((f"gpu {index}", ", ".join(parts)))
    if not machine.gpus:
        rows.append(("gpus", "none found"))
    rows.append(("detected by", machine.source))
    lines = [f"{key:<12} {value}" for key, value in rows]
    lines.append("")
    choices = (selection.torch, selection.tensorflow, selection.jax)
    table = [("framework", "build", "release", "from")]
    table += [(c.framework, c.variant, c.release or "-", _source(c)) for c in choices]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[3]]).rstrip())
    lines.append("")
    lines += [f"why {c.framework}: {c.reason}" for c in choices]
    return "\n".join(lines) + "\n"


def _source(choice: FrameworkChoice) -> str:
    if choice.index_url:
        return choice.index_url
    if choice.extra:
        return f"{choice.framework}[{choice.extra}] from the normal indexes"
    return "the normal indexes"
