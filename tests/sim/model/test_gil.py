"""The GIL as CPython passes it (``sim.model.gil``), and free-threaded Python (``--gil off``).

Most tests place guests at exact instants and check exact times: the GIL's hand-offs
are deterministic, so the expected numbers follow from the model's rules (stated in
each test) and the tolerance is floating-point only. The throughput tests run a
saturated party from a fixed seed: the throughput is the ceiling up to the guests
straddling the run's edges, well under 1% at 3,000 guests.
"""

from __future__ import annotations

import pytest

from sim.model.threaded import ThreadedParty
from sim.run import simulate
from sim.scenario import ScenarioError, build_scenario
from sim.theory import saturation
from sim.trace import CPU, Finished, GilPassed, PhaseEnded, Started
from sim.workload import Guest
from tui.cli import main

MS = 0.001


def party_with(guests: list[tuple[float, tuple[tuple[str, float], ...]]],
               **knobs) -> tuple[ThreadedParty, list]:  # fmt: skip
    """A threaded party with these guests (arrival ms, phases in ms) knocking on cue."""
    scenario = build_scenario({"model": "threaded", "workers": 1, "threads": 2, "cores": 2,
                               "cpu": 1, "guests": len(guests), **knobs})
    events: list = []
    party = ThreadedParty(scenario, events.append)
    party.boot_workers()

    def arrivals():
        for number, (at, phases) in enumerate(guests):
            if at * MS > party.env.now:
                yield party.env.timeout(at * MS - party.env.now)
            party.knock(Guest(number, at * MS, tuple((k, s * MS) for k, s in phases)))

    party.env.process(arrivals())
    party.env.run(until=5.0)
    return party, events


def ended(events: list, guest: int) -> float:
    """When the guest left, in ms."""
    return next(e.t for e in events if isinstance(e, Finished) and e.guest == guest) / MS


@pytest.mark.parametrize("model", ["threaded", "threadpool"])
def test_threads_of_one_process_use_one_core_unless_the_gil_is_off(model):
    """Issue 14: threaded W=1 T=4 --cpu 10 on 2 cores: 100/s with the GIL (one holder at
    a time), 200/s free-threaded (two cores), and theory says the same ceilings; the
    same for a pool of 4 threads behind a loop."""
    knobs = {"model": model, "threads": 4, "cores": 2, "cpu": 10, "io": 0,
             "rate": 300, "guests": 3000, "seed": 3}
    on, off = build_scenario(knobs), build_scenario({**knobs, "gil": "off"})
    assert saturation(on) == pytest.approx(100) and saturation(off) == pytest.approx(200)
    assert simulate(on).throughput == pytest.approx(100, rel=0.01)
    assert simulate(off).throughput == pytest.approx(200, rel=0.01)


def test_a_guest_alone_is_not_slowed():
    """The fast path: nobody else wants the GIL, so cpu 10 + io 20 + cpu 3 takes 33 ms,
    and the GIL never has to be taken from anyone."""
    party, events = party_with([(0, ((CPU, 10), ("io", 20), (CPU, 3)))])
    assert ended(events, 0) == pytest.approx(33)
    assert party.gils is not None and party.gils[0].forced == 0


def test_a_cpu_phase_is_cut_into_slices_while_another_thread_waits():
    """Two guests of cpu 20 arrive together, switch interval 5 ms: they take turns of
    5 ms (0-5 the first, 5-10 the second, ...), so the first ends at 35 ms, not 20, and
    the second at 40; six forced hand-offs (at 5, 10, ..., 30), then the first leaves."""
    party, events = party_with([(0, ((CPU, 20),)), (0, ((CPU, 20),))])
    assert [ended(events, 0), ended(events, 1)] == pytest.approx([35, 40])
    assert party.gils is not None and party.gils[0].forced == 6


def test_the_trace_tells_each_hand_over_to_a_waiting_thread():
    """The same two guests: the token passes at 5, 10, ..., 30 ms (forced) and at 35 (the
    first is done, the second still waits), alternating between threads 1 and 0; the
    first take, of a free GIL, is not told (``PhaseStarted`` says it)."""
    _, events = party_with([(0, ((CPU, 20),)), (0, ((CPU, 20),))])
    passes = [(round(e.t / MS, 6), e.worker) for e in events if isinstance(e, GilPassed)]
    assert passes == [(5, 1), (10, 0), (15, 1), (20, 0), (25, 1), (30, 0), (35, 1)]
    alone, events = party_with([(0, ((CPU, 10), ("io", 20), (CPU, 3)))])
    assert not any(isinstance(e, GilPassed) for e in events)  # uncontended: no event


@pytest.mark.parametrize("interval", [1, 5, 10])
def test_an_io_guest_waits_an_interval_behind_a_cpu_bound_one_each_time(interval):
    """The convoy: a guest of cpu 100 holds the GIL from 0 ms; a guest of io 50 arrives at
    10 ms. It waits one interval three times (the main thread's accept, the host reading
    the request, the host writing the answer after its io), so it takes 50 + 3 intervals:
    53, 65, 80 ms. The main thread's wait is the first: the host starts at 10 + interval."""
    party, events = party_with([(0, ((CPU, 100),)), (10, (("io", 50),))],
                               switch_interval=interval)
    started = next(e.t for e in events if isinstance(e, Started) and e.guest == 1) / MS
    assert started - 10 == pytest.approx(interval)  # accepted only when the GIL came
    assert ended(events, 1) - 10 == pytest.approx(50 + 3 * interval)
    assert ended(events, 0) == pytest.approx(100)  # three zero-length turns cost it nothing


def test_an_io_guest_alone_waits_for_nothing():
    party, events = party_with([(10, (("io", 50),))])
    assert ended(events, 0) == pytest.approx(60)


def test_the_acceptor_holds_its_share_of_the_overhead():
    """--overhead 1: the main thread holds the GIL 0.3 ms (ACCEPT_SHARE) to accept, the
    host 0.7 ms before the handler: alone, a guest of cpu 10 still takes 11 ms, as with
    any server; behind a cpu-bound guest, its accept waits an interval. (The workload
    puts the overhead in front of every guest's phases; here we write it in.)"""
    _, events = party_with([(0, ((CPU, 1), (CPU, 10)))], overhead=1)
    assert ended(events, 0) == pytest.approx(11)
    _, events = party_with([(0, ((CPU, 1), (CPU, 100))), (10, ((CPU, 1), ("io", 50)))],
                           overhead=1)
    started = next(e.t for e in events if isinstance(e, Started) and e.guest == 1) / MS
    # at 10 the accept waits; at 15 it holds 0.3 ms; the host starts at 15.3
    assert started == pytest.approx(15.3)


def test_gil_slices_share_the_cores_with_other_processes():
    """W=2 T=2 on one core, four guests of cpu 10 at 0 ms: each process's holder runs at
    half speed (two holders, one core), in 5 ms turns: 2.5 ms of work a turn, so the
    first guest of each process ends at 35 ms (its 4th turn) and the second at 40."""
    _, events = party_with([(0, ((CPU, 10),))] * 4, workers=2, cores=1)
    assert sorted(ended(events, g) for g in range(4)) == pytest.approx([35, 35, 40, 40])
    cpu_ends = [e for e in events if isinstance(e, PhaseEnded) and e.phase == CPU]
    assert len(cpu_ends) == 4  # one phase each, however many slices


def test_free_threaded_guests_chat_at_once():
    _, events = party_with([(0, ((CPU, 20),)), (0, ((CPU, 20),))], gil="off")
    assert [ended(events, 0), ended(events, 1)] == pytest.approx([20, 20])


@pytest.mark.parametrize("knobs, needle", [
    ({"switch_interval": 0}, "must be > 0"),
    ({"switch_interval": 0.01}, "0.1..1,000 ms"),
    ({"switch_interval": 5000}, "0.1..1,000 ms"),
    ({"gil": "maybe"}, "must be on or off"),
    ({"model": "sync", "gil": "off"}, "sync has no GIL"),
    ({"model": "async", "switch_interval": 2}, "async has no GIL"),
])
def test_bad_gil_values_are_refused(knobs, needle):
    with pytest.raises(ScenarioError, match=needle):
        build_scenario({"model": "threaded", **knobs})


def test_changing_to_a_server_without_a_gil_drops_the_gil_knobs():
    threaded = build_scenario({"model": "threaded", "gil": "off", "switch_interval": 2})
    assert threaded.replace(model="sync").gil == "on"
    assert threaded.replace(model="threadpool").gil == "off"


def test_the_flags_are_in_simulate_help_and_bad_ones_are_one_line(capsys):
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    out = capsys.readouterr().out
    assert "--switch-interval MS" in out and "--gil on|off" in out
    assert "free-threading" in out.replace("\n", " ").replace("  ", " ")
    code = main(["simulate", "--model", "threaded", "--switch-interval", "0", "--guests", "5"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--switch-interval" in err


def test_a_thread_that_kept_the_gil_hands_it_on_after_a_touch():
    """Unit: a thread keeps the GIL between two pieces of work; a second thread waits;
    the kept thread's last piece is empty. The waiter gets it then, not never."""
    import simpy

    from sim.model.gil import GIL

    env = simpy.Environment()
    gil = GIL(env, 0.005)
    first = gil.hold(0, 0.001, release=False)
    waiter = gil.hold(1, 0.002)
    env.run(until=0.002)  # the first piece is done at 1 ms; the thread keeps the GIL
    assert gil.holder is not None and gil.holder.owner == 0
    gil.hold(0, 0.0)  # the kept thread's empty last piece: it drops the GIL at 2 ms
    env.run(until=0.0039)
    assert waiter.done is not None and not waiter.done.triggered  # 2 ms of work from 2 ms
    env.run(until=0.0041)
    assert first.done is not None and first.done.processed and waiter.done.processed
    assert gil.holder is None and len(gil) == 0 and gil.forced == 0
