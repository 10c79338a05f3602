"""The fit's rule, the requests file, and the profile file as a scenario (no app runs)."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

from sim.limits import MAX_PROFILE_SAMPLES
from sim.profile.fit import EndpointProfile, Stats, fit_dist, profile_endpoint
from sim.profile.measure import Sample
from sim.profile.output import Profile
from sim.profile.replay import Endpoint, read_requests_file, shares
from sim.scenario import build_scenario, load_toml
from sim.workload import parse_phases


def test_the_fit_is_a_constant_when_the_spread_is_tiny_else_a_lognormal() -> None:
    assert fit_dist(Stats.of([2.0, 2.02, 1.98, 2.01]), 4) == "2.002"  # sd 1% of the mean
    assert fit_dist(Stats.of([1.0, 2.0, 3.0, 6.0]), 4) == "lognormal:3,2.16"
    assert fit_dist(Stats.of([1.0, 9.0]), 2) == "5"  # two samples: no spread to trust
    assert parse_phases(f"cpu:{fit_dist(Stats.of([1.0, 2.0, 3.0, 6.0]), 4)}")


def samples(index: int, cpu: float, io: float, blocking: float, count: int) -> list[Sample]:
    return [Sample(index, cpu=cpu * (1 + i % 3 / 10) / 1000, io=io / 1000,
                   blocking=blocking / 1000, wall=(cpu + io + blocking) / 1000, status=200)
            for i in range(count)]


def test_a_loop_held_past_the_rule_is_marked_and_scripted() -> None:
    held = profile_endpoint(Endpoint("GET", "/s", 1), 50, samples(0, 3, 0, 10, 9), "asgi")
    assert held.holds_loop and held.phases.startswith("cpu:lognormal:")
    assert held.phases.endswith(",blocking:10")  # io 0 is left out, blocking constant
    noise = profile_endpoint(Endpoint("GET", "/n", 1), 50, samples(0, 30, 5, 1.5, 9), "asgi")
    assert not noise.holds_loop and "blocking" not in noise.phases
    assert noise.stats["blocking"].mean == 1.5  # still reported
    wsgi = profile_endpoint(Endpoint("GET", "/w", 1), 50, samples(0, 3, 0, 10, 9), "wsgi")
    assert not wsgi.holds_loop  # WSGI has no loop to hold


def profile_of(endpoints: list[EndpointProfile]) -> Profile:
    return Profile("shop:app", "asgi", "requests", "requests.txt", "/abs", 5, endpoints,
                   datetime(2026, 11, 30, 4, 30, tzinfo=UTC))


def test_the_profile_file_is_a_scenario_and_keeps_its_samples(tmp_path: Path) -> None:
    endpoints = [Endpoint("GET", "/a", 2), Endpoint("POST", "/b", 1, b"{}", "b.json"),
                 Endpoint("GET", "/c", 4)]
    fitted = [profile_endpoint(e, share, samples(i, 2 + i, 8, 12 * (i == 1), 1200), "asgi")
              for i, (e, share) in enumerate(zip(endpoints, shares(endpoints), strict=True))]
    path = tmp_path / "shop.toml"
    path.write_text(profile_of(fitted).to_toml())
    data = tomllib.loads(path.read_text())
    assert [e["path"] for e in data["profile"]["endpoints"]] == ["/a", "/b", "/c"]
    assert data["profile"]["endpoints"][1]["body"] == "b.json"
    assert data["profile"]["endpoints"][1]["holds_loop"] is True
    assert len(data["profile"]["endpoints"][0]["samples"]["cpu_ms"]) == MAX_PROFILE_SAMPLES
    assert data["profile"]["endpoints"][0]["count"] == 1200
    values, origins = load_toml(path)  # [profile] is left out, [[mix]] read
    scenario = build_scenario(values, origins)
    assert [round(k.share, 6) for k in scenario.kinds] == [0.285714, 0.142857, 0.571429]
    assert "blocking:12" in scenario.mix
    one = tmp_path / "one.toml"
    one.write_text(profile_of(fitted[:1]).to_toml())
    assert "phases" in tomllib.loads(one.read_text())  # one endpoint: phases at the top
    assert build_scenario(*load_toml(one)).script


def test_a_requests_file_reads_weights_bodies_and_comments(tmp_path: Path) -> None:
    (tmp_path / "order.json").write_bytes(b'{"item_id": 1}')
    path = tmp_path / "requests.txt"
    path.write_text("# the day\n\nget /items?page=2 60  # most\nPOST /orders 0.5 @order.json\n"
                    "DELETE /cart\n")
    got = read_requests_file(str(path))
    assert [(e.method, e.path, e.weight) for e in got] == [
        ("GET", "/items?page=2", 60.0), ("POST", "/orders", 0.5), ("DELETE", "/cart", 1.0)]
    assert got[1].body == b'{"item_id": 1}' and got[1].content_type == "application/json"


def test_where_an_asgi_endpoint_ran_is_written_and_read_back(tmp_path: Path) -> None:
    from sim.plan import load_profile

    ran = samples(0, 2, 8, 0, 4)
    for s in ran:
        s.in_pool = True
    endpoints = [Endpoint("GET", "/def", 1), Endpoint("GET", "/async", 1)]
    fitted = [profile_endpoint(endpoints[0], 50, ran, "asgi"),
              profile_endpoint(endpoints[1], 50, samples(1, 2, 8, 0, 4), "asgi")]
    assert fitted[0].runs_in == "thread" and fitted[1].runs_in is None  # None: not read
    path = tmp_path / "p.toml"
    path.write_text(profile_of(fitted).to_toml())
    assert [e.runs_in for e in load_profile(str(path)).endpoints] == ["thread", None]
    assert profile_endpoint(endpoints[0], 50, samples(0, 2, 8, 0, 4), "wsgi").runs_in is None
