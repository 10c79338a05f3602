"""The door as Linux keeps it: the queue's size, the SYN ladder, patience and retries."""

from __future__ import annotations

import pytest

from sim.metrics import metrics_for
from sim.model import door
from sim.model.base import bare
from sim.model.sync import SyncParty
from sim.scenario import build_scenario
from sim.trace import Arrived, HalfOpen, Queued, Started, SynDropped, TurnedAway, tee
from sim.workload import Guest


def run(**values):
    scenario = build_scenario({"model": "sync", **values})
    events = []
    metrics = metrics_for(scenario)
    SyncParty(scenario, tee(events.append, metrics)).open().run()
    return events, metrics.summary(scenario.to_dict())


def test_the_ladder_is_linux_s():
    # Linux >= 6.5 (tcp_syn_linear_timeouts=4, tcp_syn_retries=6): five resends 1 s apart,
    # then doubling, ten resends in all (tcp_write_timeout adds the linear ones).
    assert door.syn_times(6, 4) == (0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67)
    assert door.gives_up_after(6, 4) == 131
    # older kernels: the classic 1, 3, 7 ... 63, giving up at 127 s
    assert door.syn_times(6, 0) == (0, 1, 3, 7, 15, 31, 63)
    assert door.gives_up_after(6, 0) == 127


def test_the_queue_holds_one_more_than_the_backlog_and_somaxconn_caps_it():
    assert door.capacity(8, 4096) == 9  # measured: listen(8) leaves 9 established
    assert door.capacity(2048, 128) == 129


def test_kernel_timers_fire_at_the_end_of_their_wheel_bucket():
    # Measured on this kernel (listen backlog 0 kept full, a slot freed at 0.5 / 2 / 5.5 /
    # 8 s): a client that knocked at 0 got in at 1.0 / 2.05 / 7.1 / 11.3 s. Its SYNs go
    # on 250 Hz wheel boundaries: 1 s timers in 32 ms buckets, 4 s ones in 256 ms ones.
    sent, t = [], 0.0
    for gap in (1, 1, 1, 1, 1, 2, 4):
        t = door.fires_at(t, gap)
        sent.append(t)
    assert sent[0] == pytest.approx(1.024) and sent[1] == pytest.approx(2.048)
    assert sent[5] == pytest.approx(7.136) and sent[6] == pytest.approx(11.264)
    # never early, at most one bucket late; timers armed 5 ms apart fire together
    assert all(0 < door.fires_at(x / 7, 0.2) - x / 7 - 0.2 <= 0.008 for x in range(20))
    assert door.fires_at(0.010, 1.0) == door.fires_at(0.015, 1.0)


def test_a_full_line_drops_the_syn_and_the_guest_knocks_again_on_the_ladder():
    # one sync host busy for 2.5 s, a line of 1 (backlog 0 holds 1): guest 2 arrives at
    # ~0 to a full line; its SYNs go at ~1 and ~2 s (full), ~3 s (the host took guest 1 at
    # 2.5 s, so there is room): let in ~3 s after it first knocked, each resend on the
    # timer wheel (``fires_at``: up to 32 ms late each).
    events, summary = run(workers=1, backlog=0, io=2500, cpu=0, phases=None,
                          rate=1000, guests=3, warmup=0)
    dropped = [e for e in events if isinstance(e, SynDropped) and e.guest == 2]
    assert [e.attempt for e in dropped] == [1, 2, 3]
    first = next(e.t for e in events if isinstance(e, Arrived) and e.guest == 2)
    expected, t = [], first
    for _ in dropped:
        t = door.fires_at(t, 1.0)
        expected.append(t)
    assert [e.retry_at for e in dropped] == expected
    assert all(0 < at - first - k <= 0.032 * k for k, at in enumerate(expected, 1))
    queued = next(e.t for e in events if isinstance(e, Queued) and e.guest == 2)
    assert queued == expected[-1]
    assert summary.syn_dropped == 3 and summary.turned_away == 0 and summary.served == 3


def test_a_batch_of_syns_that_finds_one_slot_leaves_the_rest_half_open():
    """Measured (``listen(0)``, 6 clients, one accepted every 2 s): 4 clients whose SYN
    resends shared a wheel bucket all "connected" at 3.1 s with one slot free; 3 got
    syncookies, and were let in later with their request, on the data resend ladder.
    Here: 1 host, io 2 s, backlog 0, 6 guests 1 ms apart."""
    events, summary = run(workers=1, backlog=0, io=2000, cpu=0, rate=1000, guests=6,
                          warmup=0, seed=3)
    half = [e for e in events if isinstance(e, HalfOpen)]
    queued = {e.guest: e.t for e in events if isinstance(e, Queued)}
    assert half, "a batch found one slot"
    for e in half:  # each came with a batch whose first guest took the slot
        assert any(t == e.t for g, t in queued.items() if g != e.guest)
        assert e.cookie  # backlog 0: every request sock past the first is a cookie
        # later let in on its data ladder: 0.2, 0.6, 1.4 ... s after (each up to 8 ms late)
        resend, at, rto = [], e.t, door.RTO_MIN
        while at < queued[e.guest]:
            at = door.fires_at(at, rto)
            rto *= 2
            resend.append(at)
        assert queued[e.guest] == resend[-1]
    assert summary.served == 6 and summary.turned_away == 0
    assert summary.to_dict()["half_open"] == len(half)


def test_a_bare_ack_lets_a_guest_in_before_its_request():
    # let in by an ACK to the server's SYN-ACK resend: a worker taking it waits for the
    # request's next data resend, drawn as a coat the kernel reads while it waits
    guest = Guest(id=1, arrival=0.0, kind=0, phases=(("cpu", 0.001), ("io", 0.05)))
    assert bare(guest, 0.4, overhead_first=True).phases == (
        ("cpu", 0.001), ("upload", 0.4), ("io", 0.05))
    assert bare(guest, 0.4, overhead_first=False).phases[0] == ("upload", 0.4)


def test_abort_on_overflow_drops_the_syn_too_and_resets_the_half_open():
    # Measured with tcp_abort_on_overflow=1 and a full queue: 4 of 5 clients timed out
    # connecting, none refused. The setting only answers an ACK that finds the queue
    # full (a half-open guest) with a reset.
    events, summary = run(workers=1, backlog=0, io=2000, cpu=0, rate=1000, guests=6,
                          abort_on_overflow=True, warmup=0, seed=3)
    away = [e for e in events if isinstance(e, TurnedAway)]
    assert away and {e.reason for e in away} == {"reset"}
    assert any(isinstance(e, SynDropped) for e in events)
    assert not any(isinstance(e, HalfOpen) for e in events)
    assert summary.to_dict()["refused"] == 0


def test_a_guest_gives_up_at_its_connect_timeout_as_timed_out():
    events, summary = run(workers=1, backlog=0, io=20000, cpu=0, rate=1000, guests=3,
                          connect_timeout=4.5, warmup=0)
    gave_up = [e for e in events if isinstance(e, TurnedAway)]
    assert [e.reason for e in gave_up] == ["timed_out"]
    first = next(e.t for e in events if isinstance(e, Arrived) and e.guest == 2)
    assert gave_up[0].t - first == pytest.approx(4.5)
    assert summary.to_dict()["timed_out"] == 1 and summary.turned_away == 1


def test_the_kernel_reads_a_slow_upload_while_the_guest_waits():
    # two guests with a 200 ms upload and 100 ms of io, one host: the second waits
    # 300 ms in line, by when its upload is all in: its host needs only the 100 ms.
    events, _ = run(workers=1, phases="upload:200,io:100", rate=1000, guests=2, warmup=0)
    started = {e.guest: e.t for e in events if isinstance(e, Started)}
    done = {e.guest: e.t for e in events if type(e).__name__ == "Finished"}
    assert done[0] - started[0] == pytest.approx(0.3)
    assert done[1] - started[1] == pytest.approx(0.1)


def test_impatient_guests_leave_and_the_server_serves_nobody():
    # 1 host, io 100 ms, 20 guests at once, patience 250 ms: the first three are served
    # in time (answers at 0.1, 0.2, 0.3 s, but the third too late: 0.3 > 0.25), so two
    # are served, the other 18 hang up at 0.25 s, and the host still serves all 20.
    events, summary = run(workers=1, io=100, cpu=0, rate=1e6, guests=20, patience=250,
                          warmup=0)
    assert summary.served == 2
    assert summary.to_dict()["timed_out"] == 18
    assert summary.wasted == 18  # answered for nobody


def test_retries_come_back_with_backoff_and_count():
    # patience 250 ms and 2 retries with a 1 s backoff: every guest who gave up knocks
    # again 1 s later, and then 2 s after that.
    events, summary = run(workers=1, io=100, cpu=0, rate=1e6, guests=20, patience=250,
                          retries=2, backoff=1000, warmup=0)
    retries = [e for e in events if isinstance(e, Arrived) and e.attempt]
    assert summary.retries == len(retries) > 0
    assert {e.attempt for e in retries} == {1, 2}
    ids = [e.guest for e in events if isinstance(e, Arrived)]
    assert ids == sorted(ids) == list(range(len(ids)))  # ids stay in arrival order
    first_retry = min(e.t for e in retries if e.attempt == 1)
    assert first_retry == pytest.approx(0.25 + 1.0, abs=1e-3)  # arrivals 1 us apart


@pytest.mark.parametrize("retries", [0, 3])
def test_a_closed_loop_user_waits_for_its_last_retry(retries):
    # 5 users; a request is out from its Arrived until the client hears its end (turned
    # away, or an answer it still waits for). A user sends its retry, never a new
    # request beside it, so at most 5 are ever out.
    events, summary = run(workers=1, io=100, cpu=0, users=5, guests=40, patience=150,
                          retries=retries, backoff=10, warmup=0)
    out: set[int] = set()
    peak = 0
    for e in events:
        if isinstance(e, Arrived):
            out.add(e.guest)
            peak = max(peak, len(out))
        elif isinstance(e, TurnedAway) or type(e).__name__ in ("Finished", "Failed"):
            out.discard(e.guest)
    assert peak == 5
    assert summary.retries == (0 if retries == 0 else summary.retries)
    if retries:
        assert summary.retries > 0


def test_a_spike_with_retries_leaves_the_server_down_and_without_them_it_recovers():
    """Metastable failure (Bronson et al., HotOS 2021), as benchmarks/bench_metastable.py
    prints it: sync W=2, io 50 ms (40/s), 30/s with a 10 s spike to 80/s, patience 1 s.
    Goodput from 80 s to 120 s: back to the offered 30/s without retries (within 10%, the
    Poisson count over 40 s has sd ~3%), zero with 3 retries (every answer comes too late)."""
    def late_goodput(**extra):
        events, summary = run(workers=2, cpu=0, io=50, rate=30, duration=120,
                              spike="20:10:80", patience=1000, seed=1, **extra)
        gone = {e.guest for e in events if isinstance(e, TurnedAway)}
        late = [e for e in events if type(e).__name__ == "Finished" and e.guest not in gone
                and 80 <= e.t < 120]
        return len(late) / 40, summary

    calm, _ = late_goodput()
    stuck, summary = late_goodput(retries=3, backoff="exp:100")
    assert calm == pytest.approx(30, rel=0.10)
    assert stuck < 1
    assert summary.wasted > summary.served  # the server works mostly for nobody


def test_a_spike_is_a_burst_of_poisson_arrivals():
    from sim.workload import Workload, parse_phases
    arrivals = Workload(parse_phases("io:1"), seed=2, rate=10, spike=(10, 5, 100))
    times = []
    for t in arrivals.arrival_times():
        if t > 30:
            break
        times.append(t)
    during = sum(10 <= t < 15 for t in times) / 5
    outside = sum(t < 10 or 15 <= t < 30 for t in times) / 25
    assert during == pytest.approx(100, rel=0.2)  # 500 expected: sd ~4.5%
    assert outside == pytest.approx(10, rel=0.3)  # 250 expected: sd ~6.3%
