"""What to replay: the endpoints of a requests file or of an access log, with their shares.

A requests file has one ``METHOD PATH [weight] [@bodyfile]`` a line (``#`` comments and
blank lines are fine): ``POST /orders 10 @order.json``. The weight is any positive number
(default 1); the shares are the weights over their sum. A body file is read relative to
the requests file, and its content type guessed from its suffix (``.json`` is
``application/json``, ``.txt`` text, anything else bytes); the file has no headers.

An access log in the common or combined format (nginx's and Apache's defaults, gunicorn's
``--access-logfile``) gives the endpoints as the distinct ``METHOD TARGET`` pairs of its
request lines, and their shares as how often each was logged. A log holds no bodies, so a
POST is replayed with an empty body (``bodiless_warning`` says so); its long tail of
distinct URLs is cut to the ``MAX_PROFILE_ENDPOINTS`` most frequent.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sim.limits import (
    MAX_BODY_BYTES,
    MAX_LOG_LINES,
    MAX_PROFILE_ENDPOINTS,
    MAX_REQUESTS_FILE_BYTES,
)
from sim.profile import ProfileError

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
CONTENT_TYPES = {".json": "application/json", ".txt": "text/plain; charset=utf-8",
                 ".html": "text/html; charset=utf-8",
                 ".form": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Endpoint:
    """One kind of request: what is sent, and its weight in the mix."""

    method: str
    path: str  # the request target as sent: path and query string
    weight: float
    body: bytes = b""
    body_file: str = ""  # as the requests file named it
    content_type: str = ""

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def shares(endpoints: list[Endpoint]) -> list[float]:
    """Each endpoint's share in percent (they add to 100)."""
    total = sum(e.weight for e in endpoints)
    return [e.weight / total * 100 for e in endpoints]


def _read_text(path: str, what: str, limit: int) -> str:
    file = Path(path)
    try:
        if not file.is_file():
            raise ProfileError(f"{what} {path}: " + ("not a regular file" if file.exists()
                                                      else "no such file"))
        if file.stat().st_size > limit:
            raise ProfileError(f"{what} {path}: more than {limit:,} bytes")
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ProfileError(f"{what} {path}: not a text file (not UTF-8)") from None
    except OSError as exc:
        raise ProfileError(f"{what} {path}: cannot read it: {exc.strerror}") from None


def read_requests_file(path: str) -> list[Endpoint]:
    """The endpoints of a requests file; a bad line is an error naming ``file:line``."""
    text = _read_text(path, "--requests", MAX_REQUESTS_FILE_BYTES)
    endpoints: list[Endpoint] = []
    seen: set[tuple[str, str]] = set()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{path}:{number}"
        endpoint = _read_line(line, where, Path(path).parent)
        if (endpoint.method, endpoint.path) in seen:
            raise ProfileError(f"{where}: {endpoint.label} is listed twice (give it one weight)")
        seen.add((endpoint.method, endpoint.path))
        endpoints.append(endpoint)
        if len(endpoints) > MAX_PROFILE_ENDPOINTS:
            raise ProfileError(f"{where}: more than {MAX_PROFILE_ENDPOINTS} endpoints")
    if not endpoints:
        raise ProfileError(f"--requests {path}: no request in it (one METHOD PATH [weight] "
                           "[@bodyfile] a line)")
    return endpoints


def _read_line(line: str, where: str, base: Path) -> Endpoint:
    words = line.split()
    body_file = ""
    if words and words[-1].startswith("@"):
        body_file = words.pop()[1:]
    if len(words) not in (2, 3):
        raise ProfileError(f"{where}: {line!r} should be METHOD PATH [weight] [@bodyfile], "
                           "like GET /items 60")
    method, target = words[0].upper(), words[1]
    if method not in METHODS:
        raise ProfileError(f"{where}: {words[0]!r} is not an HTTP method ({', '.join(METHODS)})")
    if not target.startswith("/") or any(ord(c) < 33 or ord(c) > 126 for c in target):
        raise ProfileError(f"{where}: {target!r} should be a path like /items?page=2 "
                           "(starting with /, no spaces)")
    weight = 1.0
    if len(words) == 3:
        try:
            weight = float(words[2])
        except ValueError:
            weight = math.nan
        if not math.isfinite(weight) or weight <= 0:
            raise ProfileError(f"{where}: weight {words[2]!r} should be a number > 0")
    body, content_type = b"", ""
    if body_file:
        file = base / body_file
        try:
            if not file.is_file():
                raise ProfileError(f"{where}: body file {body_file!r} not found (beside {base})")
            if file.stat().st_size > MAX_BODY_BYTES:
                raise ProfileError(f"{where}: body file {body_file!r} is more than "
                                   f"{MAX_BODY_BYTES:,} bytes")
            body = file.read_bytes()
        except OSError as exc:
            raise ProfileError(f"{where}: cannot read {body_file!r}: {exc.strerror}") from None
        content_type = CONTENT_TYPES.get(file.suffix.lower(), "application/octet-stream")
    return Endpoint(method, target, weight, body, body_file, content_type)


# host ident user [time] "METHOD TARGET HTTP/x.y" status size [ "referer" "agent" ]
LOG_LINE = re.compile(
    r'^\S+ \S+ \S+ \[[^\]]+\] "(?P<method>[A-Z]+) (?P<target>/\S*) HTTP/\d(?:\.\d)?" '
    r"(?P<status>\d{3}) (?:\d+|-)"
)


BODY_METHODS = ("POST", "PUT", "PATCH")  # the methods whose requests carry a body


def bodiless_warning(endpoints: list[Endpoint]) -> str:
    """One line naming the endpoints a log made that would carry a body and have none
    (empty if none): their cost is that of an empty body, often a 400 or 422."""
    names = [e.label for e in endpoints if e.method in BODY_METHODS and not e.body]
    if not names:
        return ""
    return (f"an access log holds no bodies: {', '.join(names)} replayed with an empty "
            "body (for real bodies, list them in a --requests file with @bodyfile)")


def read_access_log(path: str) -> tuple[list[Endpoint], int]:
    """The endpoints of a common/combined access log, weighted by how often each was
    logged; and how many lines were not in the format (skipped)."""
    counts: Counter[tuple[str, str]] = Counter()
    skipped = 0
    first_bad = ""
    try:
        with open(path, encoding="utf-8", errors="replace") as log:
            for number, line in enumerate(log, 1):
                if number > MAX_LOG_LINES:
                    break
                match = LOG_LINE.match(line)
                if match and match["method"] in METHODS:
                    counts[match["method"], match["target"]] += 1
                elif line.strip():
                    skipped += 1
                    first_bad = first_bad or f"{path}:{number}: {line.strip()[:60]!r}"
    except IsADirectoryError:
        raise ProfileError(f"--log {path}: a directory, not a log file") from None
    except OSError as exc:
        raise ProfileError(f"--log {path}: cannot read it: {exc.strerror}") from None
    if not counts:
        said = f" (first line: {first_bad})" if first_bad else " (it is empty)"
        raise ProfileError(f"--log {path}: no line in the common or combined log format{said}")
    top = counts.most_common(MAX_PROFILE_ENDPOINTS)
    return [Endpoint(method, target, float(count)) for (method, target), count in top], skipped
