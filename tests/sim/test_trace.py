"""The trace vocabulary and its JSON-lines form."""

import dataclasses

import pytest

from sim.trace import EVENT_TYPES, TraceFormatError, from_json, to_json


def sample(cls):
    values = {"t": 1.25}
    for field in dataclasses.fields(cls):
        if field.name == "t":
            continue
        values[field.name] = 3 if field.type == "int" else "io"
    return cls(**values)


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda c: c.kind)
def test_every_event_round_trips_through_json(cls):
    event = sample(cls)
    line = to_json(event)
    assert "\n" not in line
    assert from_json(line) == event


def test_events_are_frozen():
    event = sample(EVENT_TYPES[1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.t = 2.0


@pytest.mark.parametrize("line", ["not json", "[1,2]", '{"kind":"party","t":1}',
                                  '{"kind":"arrived","t":1}'])
def test_bad_lines_are_refused(line):
    with pytest.raises(TraceFormatError):
        from_json(line)
