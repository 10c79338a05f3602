"""The target: which server to load, resolved once, loopback unless allowed otherwise.

This tool is for your own machine's servers: a target that is not loopback is refused
unless ``allow_remote``. The host is resolved once, and the address checked is the
address connected to.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from sim.live.loadgen.bounds import LoadgenError


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    path: str = "/guest"

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"


def parse_target(url: str) -> Target:
    """``http://127.0.0.1:8000`` (path defaults to ``/guest``); plain ``host:port`` too."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        hostname = parts.hostname
    except ValueError as exc:  # "http://[::1" and friends
        raise LoadgenError(f"URL: cannot read {url!r}: {exc}") from None
    if parts.scheme != "http":
        raise LoadgenError(f"URL: only http:// is supported, got {url!r}")
    if not hostname:
        raise LoadgenError(f"URL: no host in {url!r}")
    try:
        port = parts.port or 80
    except ValueError:
        raise LoadgenError(f"URL: bad port in {url!r}") from None
    path = parts.path if parts.path not in ("", "/") else "/guest"
    return Target(hostname, port, path)


def is_loopback(host: str) -> bool:
    """True when every address ``host`` names is this machine's loopback."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def resolve(target: Target) -> tuple[int, tuple]:
    """The socket family and address to connect to (the first the resolver gives)."""
    try:
        info = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)[0]
    except OSError as exc:
        raise LoadgenError(f"URL: cannot resolve {target.host}: {exc.strerror}") from None
    return info[0], info[4]


def check_target(target: Target, allow_remote: bool) -> tuple[int, tuple, bool]:
    """Resolve the target once; refuse it unless loopback (or ``allow_remote``).

    Returns the family and address to connect to, and whether that address is remote.
    The check and the connection use the very same address: resolving twice would let
    a name answer loopback to the check and something else to the connect.
    """
    family, address = resolve(target)
    remote = not ipaddress.ip_address(address[0].split("%")[0]).is_loopback
    if remote and not allow_remote:
        raise LoadgenError(
            f"URL: {target.host} is not this machine (loopback); "
            "pass --allow-remote to load a server you own elsewhere"
        )
    return family, address, remote
