"""The resolver's incremental round check (core/resolver/rounds.py) against resolvelib's own.

Same answers on every resolver case, and far fewer ``is_satisfied_by`` calls where
resolvelib re-asks every need of every package in every round (counted, not timed).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from resolvelib import AbstractProvider, Resolver

from cloche import errors
from cloche.core.resolver import provider as provider_module
from cloche.core.resolver import rounds
from tests.test_resolver import CASES, RoundCounter, _load, run_case


def _outcome(case: dict[str, Any]) -> tuple[str, Any]:
    try:
        resolution, _finder = run_case(case, RoundCounter())
    except errors.ClocheError as exc:
        return type(exc).__name__, str(exc)
    return "ok", sorted((p.name, str(p.version), p.extras) for p in resolution.packages)


@pytest.fixture
def satisfied_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    calls = [0]
    original = provider_module.Provider.is_satisfied_by

    def counted(self: provider_module.Provider, requirement: Any, candidate: Any) -> bool:
        calls[0] += 1
        return original(self, requirement, candidate)

    monkeypatch.setattr(provider_module.Provider, "is_satisfied_by", counted)
    yield calls


RESOLVELIBS_OWN = {
    "round check": (rounds, "RoundsResolver", Resolver),
    "pick of the next package": (
        provider_module.Provider,
        "narrow_requirement_selection",
        AbstractProvider.narrow_requirement_selection,
    ),
}
"""What cloche does in resolvelib's place, and resolvelib's own way to do it."""


@pytest.mark.parametrize("own", sorted(RESOLVELIBS_OWN))
@pytest.mark.parametrize("path", sorted(CASES.glob("*.json")), ids=lambda p: p.stem)
def test_every_case_resolves_as_with_resolvelibs_own(
    path: Path, own: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = _load(path)
    ours = _outcome(case)
    monkeypatch.setattr(*RESOLVELIBS_OWN[own])
    assert _outcome(case) == ours


def _chain(length: int) -> dict[str, Any]:
    """p0 needs p1 needs p2 ...: every release also needs a Python, as real ones do."""
    index = {
        f"p{i}": {
            "1.0": {
                "requires": [f"p{i + 1}"] if i + 1 < length else [],
                "metadata_requires_python": ">=3.8",
            }
        }
        for i in range(length)
    }
    return {"index": index, "requested": ["p0"]}


def test_the_round_check_asks_about_new_needs_only(
    satisfied_calls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    case = _chain(60)
    resolution, _finder = run_case(case, RoundCounter())
    assert len(resolution.packages) == 60
    ours = satisfied_calls[0]
    satisfied_calls[0] = 0
    monkeypatch.setattr(rounds, "RoundsResolver", Resolver)
    run_case(case, RoundCounter())
    theirs = satisfied_calls[0]
    # resolvelib asks about every need of every package each round: quadratic in the
    # packages (and the interpreter's criterion grows with each); here each new need
    # is asked about about once per round it is new in.
    assert theirs > 1_000
    assert ours * 3 < theirs


def test_resolvelib_never_asks_for_a_preference_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = [0]

    def counted(self: provider_module.Provider, *args: Any, **kwargs: Any) -> Any:
        asked[0] += 1
        raise AssertionError("get_preference asked")

    monkeypatch.setattr(provider_module.Provider, "get_preference", counted)
    case = _load(sorted(CASES.glob("*.json"))[0])
    assert _outcome(case)[0] == "ok"
    resolution, _finder = run_case(_chain(6), RoundCounter())
    assert len(resolution.packages) == 6
    assert asked == [0]
