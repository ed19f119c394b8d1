"""Planning an install against what an environment holds (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version

from cloche.core.models import normalize
from cloche.core.plan import InstallPlan, Present, Wanted, plan_install, removals_now


@dataclass(frozen=True)
class Source:
    in_store: bool = False


def want(
    name: str, version: str, url: str | None = None, *, stored: bool = False
) -> Wanted[Source]:
    return Wanted(normalize(name), Version(version), source=Source(stored), direct_url=url)


def have(name: str, version: str, tag: str = "") -> Present[str]:
    return Present(normalize(name), Version(version), dist=f"{name}-{version}{tag}")


def test_plan_keeps_the_same_upgrades_the_changed_and_syncs_exactly() -> None:
    present = [have("a", "1.0"), have("b", "1.0"), have("extra", "3.0")]
    wanted = [want("a", "1.0"), want("b", "2.0"), want("c", "1.0")]
    plan = plan_install(wanted, present)
    assert [w.name for w in plan.install] == ["b", "c"]
    assert [p.dist for p in plan.remove] == ["b-1.0"]
    assert sorted(p.name for p in plan.keep) == ["a", "extra"]
    exact = plan_install(wanted, present, exact=True)
    assert [p.dist for p in exact.remove] == ["b-1.0", "extra-3.0"]
    protected = plan_install(wanted, present, exact=True, protected=frozenset({"extra"}))
    assert [p.dist for p in protected.remove] == ["b-1.0"]


def test_plan_reinstalls_when_asked_or_when_the_url_changed() -> None:
    present = [have("a", "1.0")]
    assert plan_install([want("a", "1.0")], present, reinstall=True).install
    assert plan_install([want("a", "1.0", url="file:///a.whl")], present).install
    assert plan_install([want("a", "1.0")], present).is_noop


def test_removals_now_follow_the_env_as_it_is_when_installing() -> None:
    plan: InstallPlan[Source, str] = plan_install(
        [want("x", "2.0"), want("y", "1.0")], [have("x", "1.0"), have("gone", "1.0")], exact=True
    )
    assert [p.dist for p in plan.remove] == ["x-1.0", "gone-1.0"]
    # Meanwhile another process removed 'gone', installed y 0.5 and another x,
    # and added 'newcomer', which this plan never saw.
    now = [have("x", "1.0"), have("x", "1.5", "(second)"), have("y", "0.5"), have("newcomer", "1")]
    assert [p.dist for p in removals_now(plan, now)] == ["x-1.0", "x-1.5(second)", "y-0.5"]
    assert removals_now(plan, []) == ()


def test_plan_says_which_installs_are_stored_and_which_are_remote() -> None:
    plan = plan_install([want("a", "1.0", stored=True), want("b", "1.0")], [])
    assert [w.name for w in plan.cached] == ["a"]
    assert [w.name for w in plan.remote] == ["b"]
