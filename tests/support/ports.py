"""TCP ports on the loopback interface for the servers the tests start.

``bind(0)``, close, then hand the number to a server is a race: until the server binds it,
another process can take the port, and so can the kernel, for the local end of an outgoing
connection, since ``bind(0)`` draws from the ephemeral range
(``/proc/sys/net/ipv4/ip_local_port_range``, 32768-60999 by default). So:

- :func:`listening_socket`: a socket bound and listening, handed to the server itself
  (uvicorn's ``--fd``, the Python servers in tests/support). The port is never free.
- :func:`free_port`: for a server that binds its own port (redis-server, varnishd, granian,
  runserver, chromedriver): a port below the ephemeral range, drawn at random by each
  process and checked by binding. Another process may still bind it first: the server then
  says "address already in use" (:func:`address_in_use`), and :func:`on_free_port` starts
  it again on another port.
- :func:`refused_port`: a port on which connections are refused for as long as it is held
  (bound, never listening), for the tests of an unreachable service.
"""

from __future__ import annotations

import os
import random
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

# Below every ephemeral range seen in practice (Linux 32768-60999, IANA 49152-65535), and
# above the registered ports that a developer's machine runs services on (PostgreSQL 5432,
# Redis 6379, the demo's 8000...).
DRAW_FROM = range(20000, 32000)
ATTEMPTS = 5

_ADDRESS_IN_USE = re.compile(r"(address|port) (is )?already in use", re.IGNORECASE)
_draw = random.Random()  # seeded from the OS: each process draws its own ports


class PortInUse(Exception):
    """A server could not bind its port: another process had taken it first."""


def ephemeral_ports() -> range:
    """The kernel's range for the local ports of outgoing connections."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    except OSError:  # not Linux: the IANA range
        return range(49152, 65536)
    return range(int(low), int(high) + 1)


def free_port() -> int:
    """A port below the ephemeral range that nothing is bound to right now."""
    ephemeral = ephemeral_ports()
    for _ in range(100):
        port = _draw.choice(DRAW_FROM)
        if port in ephemeral:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {DRAW_FROM} outside {ephemeral}")


def listening_socket() -> socket.socket:
    """A socket listening on 127.0.0.1 (the kernel picks the port), for a server to accept
    on. Bound until closed, so nothing else can take its port meanwhile."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@contextmanager
def refused_port() -> Iterator[int]:
    """A port on which every connection is refused while the block runs (bound, not
    listening: nothing else can bind it, and nothing accepts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def address_in_use(output: str) -> bool:
    """Whether a server's output says it could not bind its port (redis-server, varnishd,
    chromedriver, uvicorn, granian and Python say "address already in use"; Django's
    runserver "That port is already in use")."""
    return _ADDRESS_IN_USE.search(output) is not None


def listens(pid: int, port: int) -> bool:
    """Whether process ``pid`` (or a process it started) listens on ``port``: answering on
    the port is not enough, since a server that lost the race sees the winner answer there.

    Read from Linux's /proc (the listening socket's inode among the processes' descriptors);
    elsewhere, whether anything accepts connections on the port.
    """
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
        except OSError:
            return False
        return True
    sockets = set()
    for table in tables:
        for line in table.read_text().splitlines()[1:] if table.exists() else []:
            fields = line.split()  # sl local_address rem_address st ... uid timeout inode
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                sockets.add(f"socket:[{fields[9]}]")
    pids, seen = [pid], set()
    while sockets and pids:
        current = pids.pop()
        seen.add(current)
        try:
            for fd in Path(f"/proc/{current}/fd").iterdir():
                if os.readlink(fd) in sockets:
                    return True
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pids += [int(child) for child in children if int(child) not in seen]
        except OSError:  # gone meanwhile
            continue
    return False


def on_free_port(start: Callable[[int], T], *, draw: Callable[[], int] = free_port) -> T:
    """``start(port)`` on a :func:`free_port`, and again on another one (up to
    :data:`ATTEMPTS` in all) each time it raises :class:`PortInUse`."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return start(draw())
        except PortInUse:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")
