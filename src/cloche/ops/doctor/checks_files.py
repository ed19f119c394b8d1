"""Checks on the files of the environment: RECORD against the disk, stale path entries."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from cloche.ops.doctor.model import DoctorEnv, Finding, Fix, FixKind, Severity
from cloche.ops.doctor.records import check_record

_SHOWN = 5


def _some(paths: Sequence[str], label: str) -> list[str]:
    shown = [f"{label}: {p}" for p in paths[:_SHOWN]]
    if len(paths) > _SHOWN:
        shown.append(f"... and {len(paths) - _SHOWN} more {label}")
    return shown


def record_integrity(env: DoctorEnv) -> Iterator[Finding]:
    """A dist-info without RECORD (cannot be uninstalled cleanly), or files RECORD lists
    that are missing or changed since the install."""
    for dist in env.dists:
        result = check_record(dist)
        reinstall = f"cloche pip install {env.python_command} --force-reinstall --no-deps "
        fix = Fix(FixKind.REINSTALL, dist.name, str(dist.version), dist.dist_info)
        pin = f'"{dist.name}=={dist.version}"'
        if not result.has_record:
            yield Finding(
                "no-record",
                Severity.ERROR,
                f"{dist} has no RECORD: it cannot be uninstalled or checked",
                (f"missing: {dist.dist_info / 'RECORD'}",),
                f"rm -r {dist.dist_info} && cloche pip install {env.python_command} {pin}",
                fix,
            )
        elif result.missing or result.changed:
            counts = []
            if result.missing:
                counts.append(f"{len(result.missing)} missing")
            if result.changed:
                counts.append(f"{len(result.changed)} changed")
            yield Finding(
                "record-mismatch",
                Severity.ERROR,
                f"{dist}: files listed in RECORD are {' and '.join(counts)}",
                (*_some(result.missing, "missing"), *_some(result.changed, "changed")),
                reinstall + pin,
                fix,
            )


def _pth_entries(pth: Path) -> Iterator[str]:
    try:
        text = pth.read_text("utf-8", errors="replace")
    except OSError:
        return
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "import ", "import\t")):
            yield stripped


def stale_path_entries(env: DoctorEnv) -> Iterator[Finding]:
    """``.pth`` lines and ``.egg-link`` files pointing at directories that are gone
    (a deleted checkout of an old ``pip install -e``)."""
    for site in env.site_dirs:
        for pth in sorted(site.glob("*.pth")):
            for entry in _pth_entries(pth):
                target = Path(entry) if Path(entry).is_absolute() else site / entry
                if not target.exists():
                    yield Finding(
                        "stale-pth",
                        Severity.WARNING,
                        f"{pth.name} adds a path that does not exist",
                        (f"{pth}: {entry}",),
                        f"remove the line {entry!r} from {pth} "
                        "(or reinstall the package that wrote it)",
                    )
        for link in sorted(site.glob("*.egg-link")):
            try:
                first = link.read_text("utf-8", errors="replace").splitlines()[:1]
            except OSError:
                continue
            if first and not Path(first[0].strip()).exists():
                yield Finding(
                    "stale-egg-link",
                    Severity.WARNING,
                    f"{link.name} points at a project that is gone",
                    (f"{link}: {first[0].strip()}",),
                    f"rm {link} (and its line in easy-install.pth)",
                )
