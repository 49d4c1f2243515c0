"""Subprocesses: a checked one-shot command, and a server kept up for the length of a test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tests.support.ports import PortInUse, address_in_use, listens, on_free_port

ROOT = Path(__file__).resolve().parents[2]


def run(
    *args: str | Path,
    cwd: Path = ROOT,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``args``; with ``check`` (the default) fail with its output when it exits non-zero."""
    result = subprocess.run(  # noqa: S603  (our own commands and arguments)
        [str(arg) for arg in args],
        cwd=cwd,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check:
        assert result.returncode == 0, (
            f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def _start(
    args: Sequence[str | Path],
    *,
    cwd: Path,
    env: Mapping[str, str] | None,
    prefix: str,
    pass_fds: Sequence[int] = (),
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start ``args`` in a process group of its own, its output (both streams) going to a
    new log file; the process and the log's path."""
    with tempfile.NamedTemporaryFile(prefix=prefix, suffix=".log", delete=False) as f:
        log = Path(f.name)
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603  (our own commands and arguments)
            [str(arg) for arg in args],
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=tuple(pass_fds),
        )
    return process, log


def _stop(process: subprocess.Popen[bytes], log: Path) -> None:
    """End ``process``'s whole group if it still runs (SIGTERM, then SIGKILL after 15 s),
    and remove its log."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
    log.unlink(missing_ok=True)


class Server:
    """A running server process; ``output()`` reads what it printed so far."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serve(
    args: Sequence[str | Path],
    *,
    port: int | None = None,
    listener: socket.socket | None = None,
    cwd: Path = ROOT,
    env: Mapping[str, str] | None = None,
    startup_timeout: float = 30.0,
) -> Iterator[Server]:
    """Start ``args``, wait until it answers, yield it, and stop the whole process group
    afterwards (workers included).

    Either the server binds ``port`` itself (it raises :class:`~tests.support.ports.PortInUse`
    if another process took the port first: :func:`serve_on_free_port` then tries another),
    or it accepts on ``listener`` (a :func:`~tests.support.ports.listening_socket` whose file
    descriptor ``args`` name, as uvicorn's ``--fd``): its port was never free, and the server
    is up once an HTTP request on it gets an answer.
    """
    assert (port is None) != (listener is None), "give the port or the listening socket"
    process, log = _start(
        args,
        cwd=cwd,
        env=env,
        prefix="nexus-shop-server-",
        pass_fds=() if listener is None else (listener.fileno(),),
    )
    if listener is not None:
        port = listener.getsockname()[1]
        listener.close()  # the server holds it now; if it dies, connections are refused
    assert port is not None
    server = Server(process, port, log)
    try:
        _wait_until_up(server, answers_http=listener is not None, timeout=startup_timeout)
        yield server
    finally:
        _stop(process, log)


class Background:
    """A process that serves no port (a worker): its output so far, and ways to end it."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up, no last words (a crash, the OOM killer)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)

    def terminate(self, *, timeout: float = 30) -> int:
        """SIGTERM, and the exit status once it has stopped (within ``timeout``)."""
        os.killpg(self.process.pid, signal.SIGTERM)
        return self.process.wait(timeout=timeout)


@contextmanager
def background(
    args: Sequence[str | Path], *, cwd: Path = ROOT, env: Mapping[str, str] | None = None
) -> Iterator[Background]:
    """Start ``args`` in a process group of its own, yield it, and make sure it is gone
    afterwards (SIGTERM, then SIGKILL)."""
    process, log = _start(args, cwd=cwd, env=env, prefix="nexus-shop-bg-")
    try:
        yield Background(process, log)
    finally:
        _stop(process, log)


@contextmanager
def serve_on_free_port(
    command: Callable[[int], Sequence[str | Path]], **options: Any
) -> Iterator[Server]:
    """:func:`serve` ``command(port)`` on a :func:`~tests.support.ports.free_port`, started
    again on another port while the one drawn turns out to be taken."""
    with ExitStack() as stack:
        yield on_free_port(
            lambda port: stack.enter_context(serve(command(port), port=port, **options))
        )


def _wait_until_up(server: Server, *, answers_http: bool, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            output = server.output()
            if address_in_use(output):
                raise PortInUse(f"port {server.port} was taken:\n{output}")
            raise AssertionError(f"{server.process.args!r} exited at start:\n{output}")
        if answers_http and _answers_http(server.port):
            return
        if not answers_http and listens(server.process.pid, server.port):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{server.process.args!r} did not start:\n{server.output()}")
        time.sleep(0.05)


def _answers_http(port: int) -> bool:
    """Whether the server on ``port`` answers a request (a listening socket handed over
    accepts connections before the server runs)."""
    try:
        with socket.create_connection(("127.0.0.1", port), 0.5) as connection:
            connection.settimeout(5.0)  # the server may still be importing the app
            connection.sendall(b"HEAD /nexus-shop-ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return bool(connection.recv(1))
    except OSError:
        return False
