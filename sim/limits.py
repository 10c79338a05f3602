"""The sizes partyhost refuses: what no party can mean, and what would eat the machine.

Each limit is named once here; the checks that enforce it (``sim.scenario`` for a
simulated party, ``sim.live.config`` for a live server) put the number in their error.
A simulated host costs a few hundred bytes and a SimPy process; a live worker is a
forked Python process (about 20 MB) or a thread, so the live limits are lower.
"""

MAX_WORKERS = 1024  # simulated processes (gunicorn's own docs suggest 2-4 per core)
MAX_THREADS = 1024  # simulated threads per process
MAX_HOSTS = 16_384  # simulated workers x threads: beyond it a picture or a party means nothing
MAX_CORES = 256
MAX_GUESTS = 10**9  # guests in one party: the app's free play asks for this many, and stops first
LONG_GUESTS = 2_000_000  # more than this in a batch run: warned, with a progress bar
MAX_RATE = 1_000_000.0  # guests per second
MAX_DURATION = 86_400.0  # one simulated day

MAX_LIVE_WORKERS = 64  # forked live worker processes
MAX_LIVE_THREADS = 256  # threads per live process
MAX_BACKLOG = 1 << 20  # the kernel caps a real listen backlog at net.core.somaxconn anyway
