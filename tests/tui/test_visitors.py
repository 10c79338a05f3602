"""Visitors: guests that did not come from the load generator, numbered apart and followed.

No server here: the numbering is the handler's function, the following is fed events
by hand (a live party's events, already in seconds since the switch).
"""

from __future__ import annotations

import itertools

from sim.live.handler import guest_number
from sim.trace import VISITOR_BASE, Arrived, Finished, PhaseStarted, Started, guest_name
from tui.live import Visitors, check_script, curl_line
from tui.narrate import narrate


def test_a_request_without_the_generators_header_is_a_visitor_whose_number_never_collides():
    numbers = itertools.count()
    assert guest_number({b"x-guest-id": b"0"}, numbers) == 0  # the generator's guest 0
    first = guest_number({}, numbers)  # curl: no X-Guest-Id
    assert first == VISITOR_BASE and guest_name(first) == "visitor 1"
    assert guest_number({b"x-guest-id": b"nope"}, numbers) == VISITOR_BASE + 1
    assert guest_name(7) == "guest 7"


def test_visitors_are_followed_named_and_the_keys_guess_is_put_right_by_the_answer():
    curl, mine = VISITOR_BASE, VISITOR_BASE + 1
    visitors = Visitors()
    visitors.sent.append(("blocking:3000", 1.0))  # the key sent one at 1.0 s
    visitors.feed([Arrived(0.5, curl), Started(0.5, curl, 2)])  # before the send: not it
    assert visitors.seen[curl].script == ""
    visitors.feed([Arrived(1.2, 5), Arrived(1.2, mine), Started(1.2, mine, 0),
                   PhaseStarted(1.3, mine, 0, "blocking")])
    assert 5 not in visitors.seen  # the generator's guests are not pinned
    assert visitors.seen[mine].script == "blocking:3000" and visitors.seen[mine].guessed
    assert visitors.seen[mine].phase == "blocking" and visitors.seen[mine].worker == 0
    visitors.feed([Finished(4.2, mine, 0)])
    visitors.answered(mine, "blocking:3000")
    assert not visitors.seen[mine].guessed and visitors.sent == []
    assert visitors.take_news() == [(4.2, "visitor 2 (you: blocking:3000) leaves, "
                                           "served after 3,000 ms")]
    assert [v.guest for v in visitors.pinned()] == [curl, mine]


def test_scripts_and_sentences_in_the_learners_words():
    assert check_script(" blocking:3000 ") == "blocking:3000"
    assert curl_line("http://127.0.0.1:8000") == \
        "curl 'http://127.0.0.1:8000/guest?phases=io:200'"
    told = narrate(Arrived(1.0, VISITOR_BASE + 2), "sync")
    assert told is not None and told.party.startswith("visitor 3 ")
