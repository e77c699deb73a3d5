"""Collection stalled, Collection failing and Data loss detected in the scheduler simulation
(operational_simulation.py): every occurrence fires once, nothing else fires, under both readings
of now() and with indexing delays and late runs. Issue 16 items 3, 4, 5."""

import pytest

from . import checks
from . import operational_simulation as sim

APP = checks.PACKAGE
SEEDS = (3,)


@pytest.fixture(scope="module", params=SEEDS)
def world(request):
    return sim.build_world(APP, request.param)


def test_the_world_has_what_breaks_the_alerts(world):
    stalled = {name for name, _ in world.stalls}
    # a dead input beside healthy ones, a never-run input, cron, box off, a stall that recovers
    assert {"dead", "fresh", "cron", "quiet", "slow", "flaky"} <= stalled
    assert [n for n, _ in world.stalls].count("flaky") == 2
    assert "steady" not in stalled and "retired" not in stalled
    kinds = {kind for _, kind, _ in world.streaks}
    assert kinds == {"configuration", "auth"}
    assert len(world.data_losses) == 12


@pytest.mark.parametrize("reading", sim.NOW_READINGS)
def test_collection_stalled_fires_once_per_stall_and_never_otherwise(world, reading):
    verdict = sim.stalled_verdict(APP, world, reading, seed=5)
    assert verdict.ok, verdict


@pytest.mark.parametrize("reading", sim.NOW_READINGS)
def test_collection_failing_fires_once_per_streak_configuration_errors_included(world, reading):
    verdict = sim.failing_verdict(APP, world, reading, seed=5)
    assert verdict.ok, verdict


@pytest.mark.parametrize("reading", sim.NOW_READINGS)
def test_data_loss_fires_once_per_data_loss_event(world, reading):
    verdict = sim.data_loss_verdict(APP, world, reading, seed=5)
    assert verdict.ok, verdict
