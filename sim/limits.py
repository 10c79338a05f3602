"""The sizes partyhost refuses: what no party can mean, and what would eat the machine.

Each limit is named once here; the checks that enforce it (``sim.scenario`` for a
simulated party, ``sim.live.config`` for a live server) put the number in their error.
A simulated host costs a few hundred bytes and a SimPy process; a live worker is a
forked Python process (about 20 MB) or a thread, so the live limits are lower.

The live servers also answer anyone who can reach them, so a request has limits too:
a hostile query (``/guest?phases=blocking:599999,...`` 253 times fits in a request
line) must be one clear refusal, not a host pinned for 42 hours.
"""

MAX_WORKERS = 1024  # simulated processes (gunicorn's own docs suggest 2-4 per core)
MAX_THREADS = 1024  # simulated threads per process
MAX_HOSTS = 16_384  # simulated workers x threads: beyond it a picture or a party means nothing
MAX_CORES = 256
MAX_WORKER_CONNECTIONS = 1 << 20  # gevent's connections per worker: each is a file
# descriptor, and Linux lets one process open at most fs.nr_open (1,048,576 by default),
# so a larger cap could never bind
MAX_GUESTS = 10**9  # guests in one party: the app's free play asks for this many, and stops first
LONG_GUESTS = 2_000_000  # more than this in a batch run: warned, with a progress bar
MAX_RATE = 1_000_000.0  # guests per second
MAX_DURATION = 86_400.0  # one simulated day
# The GIL's switch interval (ms; CPython's sys.setswitchinterval, 5 ms by default). CPython
# takes any positive value, but a 10 ms phase beside a waiting thread is cut into
# 10 / interval slices, each a few SimPy events: below 0.1 ms a party spends its time
# passing the token; above 1 s one thread would keep the others waiting for seconds.
MIN_SWITCH_INTERVAL_MS = 0.1
MAX_SWITCH_INTERVAL_MS = 1000.0
# A sleeping host's wake-up (ms; scenario ``wake``): measured 1.3-1.8 ms on this VM. Ten
# times that is already not a wake-up but a stall, which a phase says better.
MAX_WAKE_MS = 20.0

MAX_LIVE_WORKERS = 64  # forked live worker processes
MAX_LIVE_THREADS = 256  # threads per live process
MAX_BACKLOG = 1 << 20  # the kernel caps a real listen backlog at net.core.somaxconn anyway
# partyhost plan and verify (issue 17): the grid a plan searches, and a verify run's length.
MAX_PLAN_WORKERS = MAX_LIVE_WORKERS  # a plan proposes what verify can start
MAX_PLAN_THREADS = MAX_LIVE_THREADS
MAX_PLAN_P99_MS = 600_000.0  # a p99 target beyond 10 minutes is a typo
MAX_VERIFY_SECONDS = 300.0  # s of sending in one verify run

# One request, and the live servers' own clocks (issue 11):
MAX_REQUEST_SECONDS = 600.0  # s of phases in one request, all phases together (sim.workload
# also caps every number in a distribution at this many seconds, so every draw is finite)
MAX_GRACEFUL_TIMEOUT = 600.0  # s a stop may wait for guests in flight: an infinite grace
# would make Ctrl-C unable to stop a server, and no guest may take longer than this anyway
MAX_HEADER_TIMEOUT = 600.0  # s a live server may be told to wait for a request to arrive

# The door (Linux's accept queue) and the guests' patience.
MAX_SOMAXCONN = 1 << 20  # net.core.somaxconn takes any int; past a million is a typo
MAX_SYN_RETRIES = 127  # tcp_syn_retries' own bound in the kernel
MAX_CONNECT_TIMEOUT = 600.0  # s, as the live generator's longest wait
MAX_RETRIES = 10  # a client that retries more than this is a storm by design already
# The database (issue 14, a finite kitchen): --db-pool, --db-max, --db-timeout.
MAX_DB_POOL = 10_000  # connections in one process's pool (SQLAlchemy's pool_size): each is a
# socket to the database and a server process behind it, so thousands per process mean nothing
MAX_DB_MAX = 262_143  # the database's max_connections: PostgreSQL's own ceiling (MAX_BACKENDS)
MAX_DB_TIMEOUT = MAX_REQUEST_SECONDS  # s a guest may wait for a pool connection (pool_timeout)
MAX_LIVE_DB_MAX = 4096  # a live server's --db-max: each connection open is a byte locked in
# one shared file (sim.live.handler.Kitchen), and opening one looks through them

# `partyhost profile` (issue 17): the app runs in this process, one request at a time.
MAX_PROFILE_REQUESTS = 100_000  # -n: at a typical 10 ms a request, under 20 minutes; more
# samples only sharpen a p99 that the machine's own noise already blurs
MAX_PROFILE_WARMUP = 10_000  # --warmup: requests left out (first imports, caches, the pool)
MAX_PROFILE_TIMEOUT_S = 3600.0  # --timeout: s one request may take before it is failed
# (and its endpoint's others not sent); an hour is longer than any handler should run
MAX_PROFILE_ENDPOINTS = 100  # endpoints in one profile: a mix of more kinds means nothing
# to a learner, and a log's long tail of URLs is cut to its most frequent ones
MAX_PROFILE_SAMPLES = 1_000  # samples kept per endpoint in the file (evenly spaced): the
# fit and the percentiles use all of them; the file stays a few hundred kB
MAX_REQUESTS_FILE_BYTES = 1_000_000  # a requests file is a few lines; more is a mistake
MAX_BODY_BYTES = 10_000_000  # one request body (@bodyfile), read into memory once
MAX_LOG_LINES = 10_000_000  # access-log lines read; the rest is left out (and said so)
MAX_SWEEP_POINTS = 200  # points in one `partyhost sweep` (--points, KEY=A..B:STEP, V1,V2,...):
# each is a whole party; past a few hundred a chart cannot show them apart anyway
MAX_CHALLENGE_POINTS = 256  # knob settings a lesson's challenge may have: the checker and the
# player run them in order of cost until one meets the goal, a party each (tenths of a second)
