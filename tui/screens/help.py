"""Help: the keys, and the glossary (every party word beside its server term).

The glossary also says where the analogy breaks: a teaching picture that hides its
simplifications teaches them as facts.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# partyhost: keys

| key | what it does |
| --- | --- |
| `space` | pause / run the party |
| `.` or `→` | step one event forward (pauses) |
| `,` or `←` | step one event back (replays the same seed) |
| `+` / `-` | faster / slower (from x0.01 slow motion to x100) |
| `>` | one second of party time at once |
| `r` | restart the party (same seed, same guests) |
| `c` | controls: model, hosts, rooms, guests... (the party pauses) |
| `v` | compare: this party beside another model, same guests |
| `m` | (in compare) set another model beside |
| `escape` | back: from the party to the welcome, from compare to the party |
| `o` | the lessons, with your progress (in a lesson too; `n` at its end: the next one) |
| `l` | live: a real server on this machine, hit by a real load generator |
| `n` | show / hide the story (narrated log) |
| `t` | show / hide the timeline: each host's last seconds, and the line (both, in compare) |
| `?` | this help; `escape` closes it |
| `ctrl+p` | every action, and the themes, in the command palette |
| `q` | quit |

# Glossary: party words, server words

| party | server world |
| --- | --- |
| guest | a request, on its connection |
| the door | the listening socket |
| the line outside | the listen backlog (accept queue) |
| turned away | never let in: refused, reset, or timed out |
| a knock lost | a full backlog: Linux drops the SYN, the guest knocks again 1, 2, 3... s later |
| gave up knocking | timed out: no room before the connect timeout (`--connect-timeout`) |
| refused at once | `connection refused`: nobody listening (a full backlog drops the SYN) |
| thought it was in | half-open: its SYN passed, its ACK found the line full; request sent again |
| host | a worker: a process (sync), a thread (gthread), an event loop (async) |
| greeting a guest | `accept()`: a worker takes the connection |
| chatting | CPU work in the handler: needs a core (and, in a threaded process, the GIL) |
| a room | a CPU core |
| the GIL token | CPython's Global Interpreter Lock: one thread of a process runs Python at a time |
| waiting for the kitchen | I/O the handler waits on: a database, an upstream API |
| standing idle beside the guest | a sync worker blocked in I/O: it serves nobody else |
| juggling | an event loop switching between coroutines at each `await` |
| the ready queue | coroutines whose I/O is done, waiting for the loop to run them |
| dozing at the kitchen door | a blocking call in async code (`time.sleep`): the loop stops |
| a slow coat | a slow client still sending its request |
| the manager | Gunicorn's arbiter: kills a worker silent past `--timeout`, boots a new one |
| leaving without an answer | a failed request: 503 (`--limit-concurrency`) or a killed worker |

# Where the analogy breaks

- A real host does not pick guests fairly: the kernel wakes whichever worker it likes,
  and gthread accepts greedily into a per-process queue. Here the line is one queue.
- Rooms (cores) are handed out one whole chat at a time; a real OS time-slices, so
  the order in which crowded chats finish differs (the throughput does not).
- The GIL is passed per whole chat here; CPython switches threads every 5 ms.
- Accepting, parsing and writing the answer take no time here; in a real server they
  cost a little CPU (`partyhost calibrate` measures it as `--overhead`).
- The manager tours once a second, as Gunicorn's arbiter does; when its tours fall is
  drawn from the seed (the real one started before the first guest, at no set time).
- Live parties are real: their numbers include the noise of your machine, and the
  load generator competes with the server for the same cores.
"""


class HelpScreen(ModalScreen[None]):
    """The keys and the glossary, over whatever screen was showing."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)

    def action_close(self) -> None:
        self.dismiss(None)
