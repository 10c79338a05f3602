"""The guests: what each request asks of the server, and when it arrives.

Theory of operation. A guest is a *script* of phases: ``upload`` (a slow client still
sending its request), ``cpu`` (handler work that needs a core), ``io`` (waiting on a
database or API: an event loop serves others meanwhile), ``db`` (io that first needs a
connection from the process's database pool, see ``--db-pool``; without a pool it is
io) and ``blocking`` (waiting too,
but with the event loop stuck, as ``time.sleep`` inside ``async def`` does). Each phase's
length is drawn from a distribution given in milliseconds.

Everything random is drawn from ``random.Random`` streams owned by the workload and
seeded from the scenario's seed, one stream per purpose. Guest *i* always gets the
*i*-th draw of the phase stream, so the same seed gives the same guests to every model,
to the simulation and to the live load generator alike. Inside the package, time is in
seconds; milliseconds are only the unit people type and read.

Limits. Every number in a distribution is at most ``MAX_MS`` (600000 ms, ten minutes),
and the phases of one script may not add up, on average, to more than
``MAX_REQUEST_SECONDS`` (600 s, from ``sim.limits``). Within them every draw is a finite
number: a lognormal's parameters are computed in log space, so ``lognormal:1,1e300``
is refused by the limit instead of overflowing. The live servers also refuse a
request whose drawn phases add up to more than the limit (see ``sim.live.handler``).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from sim.limits import MAX_REQUEST_SECONDS
from sim.trace import BLOCKING, CPU, DB, IO, PHASE_KINDS, UPLOAD

MS = 0.001  # seconds in a millisecond
MAX_MS = MAX_REQUEST_SECONDS / MS  # ms: no number in a distribution may be larger


class WorkloadError(ValueError):
    """A distribution or phase script that cannot be read; the message says why."""


# --- distributions (all in milliseconds) -------------------------------------------


@dataclass(frozen=True)
class Constant:
    value: float

    def sample(self, rng: random.Random) -> float:
        return self.value

    @property
    def mean(self) -> float:
        return self.value

    @property
    def second_moment(self) -> float:
        return self.value**2

    def __str__(self) -> str:
        return _num(self.value)


@dataclass(frozen=True)
class Exponential:
    mean: float

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean)

    @property
    def second_moment(self) -> float:
        return 2 * self.mean**2

    def __str__(self) -> str:
        return f"exp:{_num(self.mean)}"


@dataclass(frozen=True)
class Uniform:
    low: float
    high: float

    def sample(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def second_moment(self) -> float:
        return (self.low**2 + self.low * self.high + self.high**2) / 3

    def __str__(self) -> str:
        return f"uniform:{_num(self.low)},{_num(self.high)}"


@dataclass(frozen=True)
class LogNormal:
    """Given by its own mean and standard deviation, as people measure latencies."""

    mean: float
    sd: float

    def sample(self, rng: random.Random) -> float:
        mu, sigma = self.params
        return rng.lognormvariate(mu, sigma)

    @property
    def params(self) -> tuple[float, float]:
        """The underlying normal's mu and sigma, computed without overflow."""
        return _lognormal_params(self.mean, self.sd)

    @property
    def second_moment(self) -> float:
        return self.sd**2 + self.mean**2

    def __str__(self) -> str:
        return f"lognormal:{_num(self.mean)},{_num(self.sd)}"


Dist = Constant | Exponential | Uniform | LogNormal
ZERO = Constant(0.0)


def _lognormal_params(mean: float, sd: float) -> tuple[float, float]:
    """mu, sigma of the normal behind a lognormal of this mean and sd.

    sigma^2 = log(1 + (sd/mean)^2) is computed from log(sd/mean), so a huge ratio (or a
    tiny mean) gives a large but finite sigma instead of an OverflowError.
    """
    log_ratio = math.log(sd) - math.log(mean)
    if log_ratio < 300:  # the textbook formula, exactly as it always was
        sigma2 = math.log(1 + (sd / mean) ** 2)
    else:  # log(1 + r^2) = 2 log r to within 1e-260
        sigma2 = 2 * log_ratio
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


def _num(value: float) -> str:
    return f"{value:g}"


def _ms(text: str, spec: str) -> float:
    raw = text.strip().lower().removesuffix("ms").strip()
    try:
        value = float(raw)
    except ValueError:
        raise WorkloadError(f"{spec!r}: {text.strip()!r} is not a number of milliseconds") from None
    if not math.isfinite(value) or value < 0:
        raise WorkloadError(f"{spec!r}: {text.strip()!r} must be a finite number >= 0")
    if value > MAX_MS:
        raise WorkloadError(
            f"{spec!r}: {text.strip()!r} ms is more than {MAX_MS:.0f} ms, the longest a "
            f"request may take (MAX_REQUEST_SECONDS = {MAX_REQUEST_SECONDS:g} s)"
        )
    return value


def parse_dist(spec: str) -> Dist:
    """Read ``50``, ``50ms``, ``exp:50``, ``uniform:10,90`` or ``lognormal:50,20``."""
    text = str(spec).strip()
    if not text:
        raise WorkloadError("empty distribution: give milliseconds like 50 or exp:50")
    name, sep, rest = text.partition(":")
    if not sep:
        return Constant(_ms(text, spec))
    name = name.strip().lower()
    args = rest.split(",")
    if name in ("exp", "exponential"):
        if len(args) != 1:
            raise WorkloadError(f"{spec!r}: exp takes one mean, like exp:50")
        mean = _ms(args[0], spec)
        return Exponential(mean) if mean > 0 else ZERO
    if name == "uniform":
        if len(args) != 2:
            raise WorkloadError(f"{spec!r}: uniform takes low,high, like uniform:10,90")
        low, high = _ms(args[0], spec), _ms(args[1], spec)
        if high < low:
            raise WorkloadError(f"{spec!r}: uniform needs low <= high")
        return Uniform(low, high)
    if name in ("lognormal", "lognorm"):
        if len(args) != 2:
            raise WorkloadError(f"{spec!r}: lognormal takes mean,sd, like lognormal:50,20")
        mean, sd = _ms(args[0], spec), _ms(args[1], spec)
        if mean == 0:
            return ZERO
        return LogNormal(mean, sd) if sd > 0 else Constant(mean)
    if name in ("const", "constant"):
        return Constant(_ms(rest, spec))
    raise WorkloadError(
        f"{spec!r}: unknown distribution {name!r} (use 50, exp:50, uniform:10,90, lognormal:50,20)"
    )


# --- phase scripts -------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseSpec:
    """One step of the handler's script: what kind, and how long (a distribution)."""

    kind: str
    dist: Dist

    def __str__(self) -> str:
        return f"{self.kind}:{self.dist}"


Script = tuple[PhaseSpec, ...]


def script_from_flags(
    upload: str | None = None,
    cpu: str | None = None,
    io: str | None = None,
    blocking: str | None = None,
    db: str | None = None,
) -> Script:
    """The script upload -> cpu -> io -> db -> blocking, leaving out the absent (0) phases."""
    steps = []
    for kind, spec in ((UPLOAD, upload), (CPU, cpu), (IO, io), (DB, db), (BLOCKING, blocking)):
        if spec is None:
            continue
        dist = parse_dist(spec)
        if dist != ZERO:
            steps.append(PhaseSpec(kind, dist))
    return check_total(tuple(steps), "the phases together")


def parse_phases(spec: str) -> Script:
    """Read an explicit ordered script like ``cpu:2,io:exp:50,cpu:uniform:1,3``.

    Commas separate phases, but ``uniform`` and ``lognormal`` take two numbers with a
    comma between them, so a piece that does not start with a phase name continues the
    one before it.
    """
    pieces: list[str] = []
    for raw in str(spec).split(","):
        head = raw.strip().split(":", 1)[0].strip().lower()
        if head in PHASE_KINDS or not pieces:
            pieces.append(raw.strip())
        else:
            pieces[-1] += "," + raw.strip()
    steps = []
    for piece in pieces:
        kind, sep, dist = piece.partition(":")
        kind = kind.strip().lower()
        if kind not in PHASE_KINDS or not sep:
            raise WorkloadError(
                f"{spec!r}: {piece!r} should be PHASE:DIST with PHASE one of "
                f"{', '.join(PHASE_KINDS)} (like io:exp:50)"
            )
        if kind == UPLOAD and steps:
            raise WorkloadError(f"{spec!r}: upload can only come first (the request arrives first)")
        parsed = parse_dist(dist)
        if parsed != ZERO:
            steps.append(PhaseSpec(kind, parsed))
    return check_total(tuple(steps), repr(spec))


def check_total(script: Script, what: str) -> Script:
    """Refuse a script whose phases add up, on average, to more than one request may take.

    Each number is capped already (``MAX_MS``), but many phases could still add up to
    days; one request may take ``MAX_REQUEST_SECONDS`` in all. Distributions are judged
    by their means; the live servers also check every guest's drawn total.
    """
    total = sum(step.dist.mean for step in script)
    if total > MAX_MS:
        what = what if len(what) <= 60 else what[:50] + "...'"
        raise WorkloadError(
            f"{what}: {total:.0f} ms of phases in all, more than one request may take "
            f"({MAX_MS:.0f} ms: MAX_REQUEST_SECONDS = {MAX_REQUEST_SECONDS:g} s)"
        )
    return script


def format_script(script: Script) -> str:
    return ",".join(str(step) for step in script) or "(nothing: an instant answer)"


# --- guest mixes: a real app's endpoints ----------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One kind of guest (an endpoint): its share of the guests and its script."""

    share: float  # a fraction of the guests, 0 < share <= 1
    script: Script

    def __str__(self) -> str:
        return f"{self.share * 100:g}%={','.join(str(step) for step in self.script) or '0'}"


Mix = tuple[Kind, ...]
SHARE_SLACK = 0.01  # percentage points the shares may miss 100 by (rounding in a file)


def parse_mix(spec: str) -> Mix:
    """Read ``90%=io:50;10%=cpu:2,blocking:50``: shares that add to 100%, each with a
    script in the ``--phases`` syntax."""
    kinds = []
    for part in (p for p in str(spec).split(";") if p.strip()):
        share, sep, phases = part.partition("=")
        if not sep:
            raise WorkloadError(f"{part.strip()!r} should be SHARE%=PHASES, like 90%=io:50")
        kinds.append(_kind(share, phases))
    return _checked_mix(kinds, spec)


def mix_from_entries(entries: list[tuple[object, object]]) -> Mix:
    """The TOML and lesson form: ``[[mix]]`` tables of ``share`` (90, "90%" or 0.9 is
    not accepted: a share is in percent) and ``phases``."""
    kinds = [_kind(str(share), str(phases)) for share, phases in entries]
    return _checked_mix(kinds, "[[mix]]")


def _kind(share: str, phases: str) -> Kind:
    text = share.strip().removesuffix("%").strip()
    try:
        percent = float(text)
    except ValueError:
        raise WorkloadError(f"share {share.strip()!r} is not a percentage like 90%") from None
    if not math.isfinite(percent) or not 0 < percent <= 100:
        raise WorkloadError(f"share {share.strip()!r} must be more than 0% and at most 100%")
    return Kind(percent / 100, parse_phases(phases))


def _checked_mix(kinds: list[Kind], spec: str) -> Mix:
    if len(kinds) < 2:
        raise WorkloadError(f"{spec!r}: a mix needs two kinds of guest or more "
                            "(for one, use --phases)")
    total = sum(kind.share for kind in kinds) * 100
    if abs(total - 100) > SHARE_SLACK:
        raise WorkloadError(f"{spec!r}: the shares add to {total:g}%, not 100%")
    return tuple(kinds)


def format_mix(mix: Mix) -> str:
    return ";".join(str(kind) for kind in mix)


# --- guests and arrivals -------------------------------------------------------------

Phase = tuple[str, float]  # (kind, seconds)


@dataclass(frozen=True, slots=True)
class Guest:
    """One request: its number, when it arrives (s; open loop), and its phases (s)."""

    id: int
    arrival: float
    phases: tuple[Phase, ...]
    kind: int = 0  # which kind of the workload's mix (0 without a mix)

    def query(self) -> str:
        """The phases as the live servers read them: ``phases=cpu:2.000,io:50.000``."""
        return "phases=" + ",".join(f"{kind}:{sec / MS:.3f}" for kind, sec in self.phases)


@dataclass(frozen=True)
class Workload:
    """Who comes and what they ask: a script, an arrival process and a seed.

    Open loop (``rate`` guests/s, Poisson) unless ``users`` is set: then a closed loop
    of that many users, each waiting ``think`` ms between an answer and the next request.
    """

    script: Script
    seed: int = 0
    rate: float | None = None
    users: int | None = None
    think: Dist = ZERO
    spike: tuple[float, float, float] | None = None  # (start s, length s, rate) a burst
    patience: Dist | None = None  # how long a guest waits for its answer (None: forever)
    backoff: Dist = ZERO  # a retry's pause before its doubling (see sim.model.door)
    mix: Mix = ()  # kinds of guest; each guest's kind drawn from its own stream

    @property
    def closed(self) -> bool:
        return self.users is not None

    def _rng(self, purpose: str) -> random.Random:
        return random.Random(f"partyhost:{self.seed}:{purpose}")

    def phase_draws(self) -> Iterator[tuple[Phase, ...]]:
        """Guest 0's phases, guest 1's, ... forever (of guest i's kind, in a mix)."""
        rng = self._rng("phases")
        if not self.mix:
            steps = [(step.kind, step.dist) for step in self.script]
            while True:
                yield tuple((kind, dist.sample(rng) * MS) for kind, dist in steps)
        scripts = [[(step.kind, step.dist) for step in kind.script] for kind in self.mix]
        for kind in self.kinds():
            yield tuple((name, dist.sample(rng) * MS) for name, dist in scripts[kind])

    def kinds(self) -> Iterator[int]:
        """Guest 0's kind, guest 1's, ... forever: all 0 without a mix."""
        if not self.mix:
            while True:
                yield 0
        rng = self._rng("kinds")
        bounds = list(itertools.accumulate(kind.share for kind in self.mix))
        last = len(bounds) - 1
        while True:
            yield min(bisect.bisect_right(bounds, rng.random() * bounds[-1]), last)

    def arrival_times(self) -> Iterator[float]:
        """Open-loop arrival instants in seconds: a Poisson process at ``rate``."""
        if self.rate is None or self.rate <= 0:
            raise WorkloadError("arrival_times needs an open-loop rate > 0")
        rng = self._rng("arrivals")
        rate = self.rate
        t = 0.0
        if self.spike is not None:
            yield from self._spiked(rng)
        while True:
            t += rng.expovariate(rate)
            yield t

    def _spiked(self, rng: random.Random) -> Iterator[float]:
        """Poisson at ``rate`` with a burst at the spike's rate from its start for its
        length: piecewise, drawing afresh at each boundary (exact, the exponential has no
        memory); endless like ``arrival_times``."""
        start, length, burst = self.spike  # type: ignore[misc]
        pieces = ((start, self.rate), (start + length, burst), (math.inf, self.rate))
        t = 0.0
        for end, rate in pieces:
            while True:
                step = rng.expovariate(rate)  # type: ignore[arg-type]
                if t + step >= end:
                    t = end
                    break
                t += step
                yield t

    def guests(self) -> Iterator[Guest]:
        """Open-loop guests in arrival order, endless; take what you need."""
        for gid, (arrival, phases, kind) in enumerate(
            zip(self.arrival_times(), self.phase_draws(), self.kinds(), strict=False)
        ):
            yield Guest(gid, arrival, phases, kind)

    def patience_draws(self) -> Iterator[float | None]:
        """Guest 0's patience in seconds, guest 1's, ... (None: waits forever).

        Its own random stream, so giving guests patience changes nothing else they draw.
        """
        if self.patience is None:
            while True:
                yield None
        rng = self._rng("patience")
        patience = self.patience
        while True:
            yield patience.sample(rng) * MS

    def backoff_draws(self) -> Iterator[float]:
        """Pauses in seconds before retries, one stream for all guests (before doubling)."""
        rng = self._rng("backoff")
        backoff = self.backoff
        while True:
            yield backoff.sample(rng) * MS

    def think_times(self) -> Iterator[float]:
        """Closed-loop think times in seconds, one stream shared by all users."""
        rng = self._rng("think")
        think = self.think
        while True:
            yield think.sample(rng) * MS

    def mean_ms(self, *phases: str) -> float:
        """Mean milliseconds per guest in phases of these kinds (all if none given),
        averaged over the mix's kinds by their shares."""
        mix = self.mix or (Kind(1.0, self.script),)
        return sum(kind.share * step.dist.mean for kind in mix for step in kind.script
                   if not phases or step.kind in phases)

    def mean_phase(self, kind: str) -> float:
        """Mean seconds per guest spent in phases of ``kind``."""
        return self.mean_ms(kind) * MS

    def mean_service(self) -> float:
        """Mean seconds of all phases together (a guest alone on the server)."""
        return self.mean_ms() * MS
