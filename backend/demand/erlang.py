"""Erlang C and Erlang A staffing: how many agents a slot needs to answer its contacts on time.

Pure arithmetic, no database and no web, so it is tested and benchmarked on
its own. Both models stay numerically stable for thousands of contacts per
slot: nothing here computes a factorial or a power of the load.

- Erlang B by its recursion ``B(n) = A·B(n-1) / (n + A·B(n-1))``, and Erlang C
  from it, ``C = N·B / (N - A·(1 - B))`` (M/M/N, callers wait for ever).
- Erlang A is the exact M/M/N+M queue (Palm's model: callers abandon after an
  exponential patience). Its stationary distribution is a birth-death chain,
  computed in logarithms and truncated where the tail is negligible. A caller
  who finds ``j`` callers ahead reaches an agent after the sum of exponential
  stages of rates ``Nμ + iθ`` (i = j … 0); that sum is ``-ln(X)/θ`` with
  ``X ~ Beta(Nμ/θ, j+1)`` (compare Laplace transforms), so the probability of
  being answered within ``t`` before one's own patience runs out is
  ``a/(a+j+1) · (1 - I_x(a+1, j+1))`` with ``a = Nμ/θ`` and ``x = e^(-θt)``;
  the incomplete beta with an integer argument is a negative-binomial sum.
  The same representation gives the mean wait of answered callers. As the
  patience grows the figures tend to Erlang C's (tested).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from backend.core.errors import DomainError
from backend.core.i18n import gettext as _

TAIL_LOG_CUTOFF = math.log(1e-16)  # truncate the chain where a state is this much below the mode
MAX_OFFERED_ERLANGS = 100_000.0
MAX_CHAIN_STATES = 2_000_000
MAX_CONTACTS = 10_000_000
MAX_SECONDS = 7 * 24 * 3600
SL_TOLERANCE = 1e-9  # a target of 100% is met when rounding leaves 0.999999999999


@dataclass(frozen=True)
class Targets:
    """What a slot must achieve: ``service_level`` of contacts answered within ``answer_within_seconds``."""

    service_level: float = 0.8
    answer_within_seconds: float = 20.0
    max_occupancy: float = 0.85
    shrinkage: float = 0.3


@dataclass(frozen=True)
class Staffing:
    """Agents to schedule (shrinkage included) and what the agents on the phones achieve."""

    agents: int
    agents_on_phones: int
    service_level: float
    asa_seconds: float
    occupancy: float
    wait_probability: float
    abandon_rate: float = 0.0


@dataclass(frozen=True)
class Performance:
    """The outcome of ``agents`` agents on a given load (before shrinkage)."""

    service_level: float
    asa_seconds: float
    occupancy: float
    wait_probability: float
    abandon_rate: float


def _fail(field: str, message: str) -> DomainError:
    return DomainError(message, field=field)


def _check_finite(field: str, value: float) -> float:
    if not math.isfinite(value):
        raise _fail(field, _("%(field)s must be a number.", field=field))
    return value


def validate(*, contacts: float, aht: float, interval: float, targets: Targets, patience: float | None = None) -> None:
    """Refuse parameters the models cannot mean; the error names the parameter (the API answers 422)."""
    for field, value in (
        ("contacts", contacts),
        ("aht", aht),
        ("interval", interval),
        ("service_level", targets.service_level),
        ("answer_within", targets.answer_within_seconds),
        ("shrinkage", targets.shrinkage),
        ("max_occupancy", targets.max_occupancy),
    ):
        _check_finite(field, value)
    if not 0 <= contacts <= MAX_CONTACTS:
        raise _fail("contacts", _("contacts must be between 0 and %(max)d.", max=MAX_CONTACTS))
    if not 0 < aht <= MAX_SECONDS:
        raise _fail("aht", _("aht (average handle time) must be more than 0 seconds and at most a week."))
    if not 0 < interval <= MAX_SECONDS:
        raise _fail("interval", _("interval must be more than 0 seconds and at most a week."))
    if not 0 < targets.service_level <= 1:
        raise _fail("service_level", _("service_level must be more than 0 and at most 1."))
    if not 0 <= targets.answer_within_seconds <= MAX_SECONDS:
        raise _fail("answer_within", _("answer_within must be 0 seconds or more."))
    if not 0 <= targets.shrinkage < 1:
        raise _fail("shrinkage", _("shrinkage must be at least 0 and less than 1."))
    if not 0 < targets.max_occupancy <= 1:
        raise _fail("max_occupancy", _("max_occupancy must be more than 0 and at most 1."))
    if patience is not None and not (math.isfinite(patience) and 0 < patience <= MAX_SECONDS):
        raise _fail("patience", _("patience must be more than 0 seconds and at most a week."))
    if contacts * aht / interval > MAX_OFFERED_ERLANGS:
        raise _fail("contacts", _("The load is above %(max)d erlangs: split it.", max=int(MAX_OFFERED_ERLANGS)))


def offered_load(contacts: float, aht: float, interval: float) -> float:
    """Traffic in erlangs: the average number of agents busy if every contact were answered."""
    return contacts * aht / interval


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of ``agents`` servers with no queue, by the stable recursion."""
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = load * blocking / (n + load * blocking)
    return blocking


def erlang_c_from_b(agents: int, load: float, blocking: float) -> float:
    """Probability of waiting in M/M/N from Erlang B; 1 when the agents cannot keep up."""
    if agents <= load:
        return 1.0
    return agents * blocking / (agents - load * (1 - blocking))


def erlang_c(agents: int, load: float) -> float:
    return erlang_c_from_b(agents, load, erlang_b(agents, load))


def _c_performance(agents: int, load: float, aht: float, wait: float, answer_within: float) -> Performance:
    if load == 0:
        return Performance(1.0, 0.0, 0.0, 0.0, 0.0)
    if agents <= load:
        return Performance(0.0, math.inf, 1.0, 1.0, 0.0)
    service_level = 1 - wait * math.exp(-(agents - load) * answer_within / aht)
    asa = wait * aht / (agents - load)
    return Performance(service_level, asa, load / agents, wait, 0.0)


def erlang_c_performance(agents: int, *, load: float, aht: float, answer_within: float) -> Performance:
    """Service level ``1 - C·e^(-(N-A)t/AHT)``, ASA ``C·AHT/(N-A)`` and occupancy ``A/N`` of M/M/N."""
    return _c_performance(agents, load, aht, erlang_c(agents, load), answer_within)


def scheduled_agents(on_phones: int, shrinkage: float) -> int:
    """Agents to roster so that ``on_phones`` remain after breaks, training and absence."""
    return math.ceil(on_phones / (1 - shrinkage) - 1e-9)


def _meets(performance: Performance, targets: Targets) -> bool:
    return (
        performance.service_level >= targets.service_level - SL_TOLERANCE
        and performance.occupancy <= targets.max_occupancy + SL_TOLERANCE
    )


def _staffing(agents: int, performance: Performance, targets: Targets) -> Staffing:
    return Staffing(
        agents=scheduled_agents(agents, targets.shrinkage),
        agents_on_phones=agents,
        service_level=performance.service_level,
        asa_seconds=performance.asa_seconds,
        occupancy=performance.occupancy,
        wait_probability=performance.wait_probability,
        abandon_rate=performance.abandon_rate,
    )


def erlang_c_staffing(*, contacts: float, aht: float, interval: float, targets: Targets) -> Staffing:
    """The fewest agents meeting the service level with occupancy at most the maximum, then shrinkage.

    Walks N upwards from the first stable count, carrying Erlang B along, so
    the search costs one pass of the recursion however large the load.
    """
    validate(contacts=contacts, aht=aht, interval=interval, targets=targets)
    load = offered_load(contacts, aht, interval)
    if load == 0:
        return _staffing(0, Performance(1.0, 0.0, 0.0, 0.0, 0.0), targets)
    agents = max(math.floor(load) + 1, math.ceil(load / targets.max_occupancy - 1e-9))
    blocking = erlang_b(agents, load)
    while True:
        performance = _c_performance(
            agents, load, aht, erlang_c_from_b(agents, load, blocking), targets.answer_within_seconds
        )
        if _meets(performance, targets):
            return _staffing(agents, performance, targets)
        agents += 1
        blocking = load * blocking / (agents + load * blocking)


# Erlang A --------------------------------------------------------------------


def _stationary_log_terms(agents: int, arrival: float, service: float, abandon: float) -> list[float]:
    """Unnormalised log-probabilities of 0, 1, 2 … callers in M/M/N+M, cut where the tail is negligible."""
    logs = [0.0]
    log_arrival = math.log(arrival)
    peak = 0.0
    n = 0
    while True:
        n += 1
        death = n * service if n <= agents else agents * service + (n - agents) * abandon
        term = logs[-1] + log_arrival - math.log(death)
        logs.append(term)
        peak = max(peak, term)
        if n > agents and death > arrival and term - peak < TAIL_LOG_CUTOFF:
            return logs
        if n > MAX_CHAIN_STATES:
            raise _fail("patience", _("This load and patience need too long a queue to compute: check them."))


def _normalised(logs: list[float]) -> list[float]:
    peak = max(logs)
    weights = [math.exp(value - peak) for value in logs]
    total = math.fsum(weights)
    return [weight / total for weight in weights]


class _NegBin:
    """Running CDF of the negative binomial ``NB(r, x)`` at 0, 1, 2 …, kept in logarithms."""

    def __init__(self, r: float, log_x: float, log_1mx: float) -> None:
        self.r, self.log_1mx = r, log_1mx
        self.k = 0
        self.log_pmf = r * log_x
        self.cdf = math.exp(self.log_pmf)

    def advance(self) -> None:
        self.k += 1
        self.log_pmf += math.log((self.r + self.k - 1) / self.k) + self.log_1mx
        self.cdf = min(1.0, self.cdf + math.exp(self.log_pmf))


def erlang_a_performance(
    agents: int, *, contacts: float, aht: float, interval: float, patience: float, answer_within: float
) -> Performance:
    """Exact figures for M/M/N+M: service level (answered within ``t``), ASA of answered calls, abandonment."""
    if contacts == 0:
        return Performance(1.0, 0.0, 0.0, 0.0, 0.0)
    arrival, service, abandon = contacts / interval, 1 / aht, 1 / patience
    probabilities = _normalised(_stationary_log_terms(agents, arrival, service, abandon))
    served_now = math.fsum(probabilities[:agents])
    queue = probabilities[agents:]
    wait_probability = math.fsum(queue)
    mean_queue = math.fsum(j * p for j, p in enumerate(queue))
    abandon_rate = min(1.0, max(0.0, abandon * mean_queue / arrival))
    if agents == 0:
        return Performance(0.0, math.inf, 0.0, 1.0, 1.0)
    a = agents * service / abandon
    theta_t = abandon * answer_within
    counts = _NegBin(a + 1, -theta_t, math.log(-math.expm1(-theta_t))) if theta_t > 0 else None
    in_time = served_now
    answered_wait = 0.0
    harmonic = 0.0
    for j, p in enumerate(queue):
        served = a / (a + j + 1)  # the chance to reach an agent with j callers ahead
        harmonic += 1 / (agents * service + (j + 1) * abandon)
        answered_wait += p * served * harmonic
        if counts is not None:
            if j:
                counts.advance()
            in_time += p * served * max(0.0, 1.0 - counts.cdf)
    answered = max(1e-300, 1 - abandon_rate)
    occupancy = min(1.0, arrival * answered * aht / agents)
    return Performance(min(1.0, in_time), answered_wait / answered, occupancy, wait_probability, abandon_rate)


def erlang_a_staffing(*, contacts: float, aht: float, interval: float, targets: Targets, patience: float) -> Staffing:
    """The fewest agents meeting the targets when callers abandon after ``patience`` seconds on average.

    Feasibility only improves with more agents, so a doubling search then a
    bisection finds the smallest count in a few evaluations of the chain.
    """
    validate(contacts=contacts, aht=aht, interval=interval, targets=targets, patience=patience)
    if contacts == 0:
        return _staffing(0, Performance(1.0, 0.0, 0.0, 0.0, 0.0), targets)

    def evaluate(agents: int) -> Performance:
        return erlang_a_performance(
            agents,
            contacts=contacts,
            aht=aht,
            interval=interval,
            patience=patience,
            answer_within=targets.answer_within_seconds,
        )

    load = offered_load(contacts, aht, interval)
    low = max(0, math.floor(load * targets.service_level) - 1)  # fewer can never answer that share
    high = max(1, math.ceil(load))
    while not _meets(evaluate(high), targets):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if _meets(evaluate(middle), targets):
            high = middle
        else:
            low = middle
    return _staffing(high, evaluate(high), targets)
