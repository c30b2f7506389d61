"""Erlang B, C and A: published values, limits, stability at large volumes, and refused parameters."""

from __future__ import annotations

import itertools
import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.core.errors import DomainError
from backend.demand import erlang
from backend.demand.erlang import Targets

CLASSIC = Targets(service_level=0.8, answer_within_seconds=20, max_occupancy=1.0, shrinkage=0.3)


def test_erlang_b_matches_the_table() -> None:
    """Erlang B tables (e.g. any traffic-engineering handbook's): 10 circuits at 5 erlangs block 1.84%;
    15 circuits at 10 erlangs block 3.65%."""
    assert erlang.erlang_b(10, 5.0) == pytest.approx(0.01838, abs=5e-5)
    assert erlang.erlang_b(15, 10.0) == pytest.approx(0.03649, abs=5e-5)


def test_call_centre_helper_worked_example() -> None:
    """Call Centre Helper's "Erlang C formula, made simple" worked example: 100 calls in 30 minutes,
    180 s handle time (10 erlangs), 80% in 20 s. It prints a probability of waiting of 68.21% with 11
    agents and 28.53% with 13 (service level just under 80%), so 14 agents (88.8%, ASA about 8 s), and
    20 scheduled with 30% shrinkage."""
    eleven = erlang.erlang_c_performance(11, load=10.0, aht=180, answer_within=20)
    assert eleven.wait_probability == pytest.approx(0.6821, abs=1e-4)
    thirteen = erlang.erlang_c_performance(13, load=10.0, aht=180, answer_within=20)
    assert thirteen.wait_probability == pytest.approx(0.2853, abs=1e-4)
    assert thirteen.service_level == pytest.approx(0.7956, abs=1e-3)
    staffing = erlang.erlang_c_staffing(contacts=100, aht=180, interval=1800, targets=CLASSIC)
    assert (staffing.agents_on_phones, staffing.agents) == (14, 20)
    assert staffing.service_level == pytest.approx(0.8884, abs=1e-3)
    assert staffing.asa_seconds == pytest.approx(7.84, abs=0.01)
    assert staffing.occupancy == pytest.approx(10 / 14)


def test_westbay_step_by_step_example() -> None:
    """The step-by-step Erlang C example on the Westbay/Mitan "Erlang-C formula" page: 360 calls per half
    hour, 4 minute calls, 55 agents, 15 s target: 48 erlangs, occupancy 87.3%, probability of waiting
    about 24%, ASA about 8.2 s, service level about 84.6%."""
    result = erlang.erlang_c_performance(55, load=360 * 240 / 1800, aht=240, answer_within=15)
    assert result.occupancy == pytest.approx(0.8727, abs=1e-4)
    assert result.wait_probability == pytest.approx(0.2387, abs=1e-3)
    assert result.asa_seconds == pytest.approx(8.18, abs=0.02)
    assert result.service_level == pytest.approx(0.8459, abs=1e-3)


def test_occupancy_cap_can_bind_before_the_service_level() -> None:
    loose = Targets(service_level=0.5, answer_within_seconds=60, max_occupancy=0.7, shrinkage=0)
    staffing = erlang.erlang_c_staffing(contacts=100, aht=180, interval=1800, targets=loose)
    assert staffing.agents == math.ceil(10 / 0.7)
    assert staffing.occupancy <= 0.7


def test_shrinkage_rounds_up_without_float_noise() -> None:
    assert erlang.scheduled_agents(7, 0.3) == 10  # 7 / 0.7 is 10.000000000000002 in floating point
    assert erlang.scheduled_agents(14, 0.3) == 20
    assert erlang.scheduled_agents(0, 0.5) == 0


def test_no_contacts_needs_no_agents() -> None:
    for staff in (
        erlang.erlang_c_staffing(contacts=0, aht=300, interval=1800, targets=CLASSIC),
        erlang.erlang_a_staffing(contacts=0, aht=300, interval=1800, targets=CLASSIC, patience=60),
    ):
        assert (staff.agents, staff.service_level, staff.occupancy) == (0, 1.0, 0.0)


@pytest.mark.parametrize("contacts", [5_000, 50_000, 500_000])
def test_huge_volumes_answer_quickly_without_overflow(contacts: int) -> None:
    targets = Targets(service_level=0.8, answer_within_seconds=20, max_occupancy=0.95, shrinkage=0.3)
    started = time.perf_counter()
    staffing = erlang.erlang_c_staffing(contacts=contacts, aht=300, interval=1800, targets=targets)
    assert time.perf_counter() - started < 2
    load = contacts * 300 / 1800
    assert load < staffing.agents_on_phones <= load / 0.95 + 1
    assert 0.8 <= staffing.service_level <= 1
    assert math.isfinite(staffing.asa_seconds)


def test_erlang_a_at_thousands_of_contacts_is_quick_and_finite() -> None:
    targets = Targets(service_level=0.8, answer_within_seconds=20, max_occupancy=0.95, shrinkage=0.3)
    started = time.perf_counter()
    staffing = erlang.erlang_a_staffing(contacts=5_000, aht=300, interval=1800, targets=targets, patience=120)
    assert time.perf_counter() - started < 2
    assert 833 < staffing.agents_on_phones < 900
    assert 0 <= staffing.abandon_rate < 0.05
    assert math.isfinite(staffing.asa_seconds)


def _ode_service_level(agents: int, contacts: float, aht: float, interval: float, patience: float, t: float) -> float:
    """An independent route to Erlang A's service level: integrate, by RK4, the chance that a caller who
    finds j callers ahead reaches an agent within s seconds before abandoning,
    du_j/ds = (Nμ + jθ)(u_{j-1} - u_j) - θ u_j with u_{-1} = 1, and weight by the stationary chain."""
    arrival, service, abandon = contacts / interval, 1 / aht, 1 / patience
    chain = erlang._normalised(erlang._stationary_log_terms(agents, arrival, service, abandon))
    queue = chain[agents:]

    def slope(u: list[float]) -> list[float]:
        return [
            (agents * service + j * abandon) * ((1.0 if j == 0 else u[j - 1]) - u[j]) - abandon * u[j]
            for j in range(len(u))
        ]

    u = [0.0] * len(queue)
    steps = 400
    h = t / steps
    for _ in range(steps):
        k1 = slope(u)
        k2 = slope([a + h / 2 * b for a, b in zip(u, k1, strict=True)])
        k3 = slope([a + h / 2 * b for a, b in zip(u, k2, strict=True)])
        k4 = slope([a + h * b for a, b in zip(u, k3, strict=True)])
        u = [a + h / 6 * (b + 2 * c + 2 * d + e) for a, b, c, d, e in zip(u, k1, k2, k3, k4, strict=True)]
    return sum(chain[:agents]) + sum(p * v for p, v in zip(queue, u, strict=True))


@pytest.mark.parametrize(
    ("agents", "contacts", "aht", "patience", "t"),
    [(3, 40, 180, 60, 20), (5, 100, 90, 30, 15), (10, 200, 100, 200, 30), (12, 150, 240, 90, 60)],
)
def test_erlang_a_service_level_matches_an_independent_integration(
    agents: int, contacts: float, aht: float, patience: float, t: float
) -> None:
    exact = erlang.erlang_a_performance(
        agents, contacts=contacts, aht=aht, interval=1800, patience=patience, answer_within=t
    )
    assert exact.service_level == pytest.approx(_ode_service_level(agents, contacts, aht, 1800, patience, t), abs=1e-6)


def test_erlang_a_abandonment_agrees_two_ways() -> None:
    """θ·E[queue]/λ (rate balance) equals Σ π_{N+j} (j+1)θ / (Nμ + (j+1)θ) (each caller's race)."""
    agents, arrival, service, abandon = 8, 150 / 1800, 1 / 120, 1 / 45
    chain = erlang._normalised(erlang._stationary_log_terms(agents, arrival, service, abandon))
    by_race = sum(p * (j + 1) * abandon / (agents * service + (j + 1) * abandon) for j, p in enumerate(chain[agents:]))
    performance = erlang.erlang_a_performance(
        agents, contacts=150, aht=120, interval=1800, patience=45, answer_within=20
    )
    assert performance.abandon_rate == pytest.approx(by_race, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    contacts=st.floats(1, 400),
    aht=st.floats(30, 900),
    answer_within=st.floats(0, 120),
)
def test_erlang_c_service_level_rises_with_agents(contacts: float, aht: float, answer_within: float) -> None:
    load = contacts * aht / 1800
    levels = [
        erlang.erlang_c_performance(n, load=load, aht=aht, answer_within=answer_within).service_level
        for n in range(max(1, math.floor(load)), math.floor(load) + 25)
    ]
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(levels))
    assert all(0 <= level <= 1 for level in levels)


@settings(max_examples=60, deadline=None)
@given(
    agents=st.integers(0, 60),
    contacts=st.floats(1, 600),
    aht=st.floats(30, 900),
    patience=st.floats(5, 3600),
    answer_within=st.floats(0, 120),
)
def test_erlang_a_figures_are_probabilities(
    agents: int, contacts: float, aht: float, patience: float, answer_within: float
) -> None:
    result = erlang.erlang_a_performance(
        agents, contacts=contacts, aht=aht, interval=1800, patience=patience, answer_within=answer_within
    )
    for value in (result.service_level, result.abandon_rate, result.occupancy, result.wait_probability):
        assert 0 <= value <= 1
    more = erlang.erlang_a_performance(
        agents + 1, contacts=contacts, aht=aht, interval=1800, patience=patience, answer_within=answer_within
    )
    assert more.service_level >= result.service_level - 1e-9
    assert more.abandon_rate <= result.abandon_rate + 1e-9


@settings(max_examples=40, deadline=None)
@given(contacts=st.floats(5, 300), aht=st.floats(60, 600), extra=st.integers(1, 10))
def test_erlang_a_with_endless_patience_is_erlang_c(contacts: float, aht: float, extra: int) -> None:
    """Away from saturation (occupancy at most 95%): at 99.7% the Erlang C queue is so long (waits of an hour)
    that even callers with months of patience abandon enough to move the service level by a few tenths of a
    percent; the limit still holds there, only more slowly."""
    load = contacts * aht / 1800
    agents = math.floor(load / 0.95) + extra
    c = erlang.erlang_c_performance(agents, load=load, aht=aht, answer_within=20)
    a = erlang.erlang_a_performance(agents, contacts=contacts, aht=aht, interval=1800, patience=1e7, answer_within=20)
    assert a.service_level == pytest.approx(c.service_level, abs=2e-3)
    assert a.wait_probability == pytest.approx(c.wait_probability, abs=2e-3)
    assert a.abandon_rate < 1e-3


def test_erlang_a_needs_no_more_agents_than_erlang_c_for_impatient_callers() -> None:
    c = erlang.erlang_c_staffing(contacts=300, aht=240, interval=1800, targets=CLASSIC)
    a = erlang.erlang_a_staffing(contacts=300, aht=240, interval=1800, targets=CLASSIC, patience=180)
    assert a.agents_on_phones <= c.agents_on_phones
    assert a.abandon_rate > 0


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("contacts", {"contacts": -1}),
        ("contacts", {"contacts": math.nan}),
        ("aht", {"aht": 0}),
        ("aht", {"aht": -5}),
        ("interval", {"interval": 0}),
        ("service_level", {"service_level": 0}),
        ("service_level", {"service_level": 1.01}),
        ("answer_within", {"answer_within": -1}),
        ("shrinkage", {"shrinkage": 1}),
        ("max_occupancy", {"max_occupancy": 0}),
        ("patience", {"patience": 0}),
    ],
)
def test_invalid_parameters_are_refused_naming_the_field(field: str, changes: dict[str, float]) -> None:
    values: dict[str, float] = {
        "contacts": 100,
        "aht": 180,
        "interval": 1800,
        "service_level": 0.8,
        "answer_within": 20,
        "shrinkage": 0.3,
        "max_occupancy": 0.85,
        "patience": 60,
        **changes,
    }
    targets = Targets(
        service_level=values["service_level"],
        answer_within_seconds=values["answer_within"],
        max_occupancy=values["max_occupancy"],
        shrinkage=values["shrinkage"],
    )
    with pytest.raises(DomainError) as refused:
        erlang.erlang_a_staffing(
            contacts=values["contacts"],
            aht=values["aht"],
            interval=values["interval"],
            targets=targets,
            patience=values["patience"],
        )
    assert refused.value.field == field
