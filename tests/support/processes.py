"""Subprocesses: a checked one-shot command, and a server kept up for the length of a test."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.ports import wait_for_port

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
    port: int,
    cwd: Path = ROOT,
    env: Mapping[str, str] | None = None,
    startup_timeout: float = 30.0,
) -> Iterator[Server]:
    """Start ``args`` (which must listen on ``port``), wait until the port answers, yield it,
    and stop the whole process group afterwards (workers included)."""
    with tempfile.NamedTemporaryFile(prefix="nexus-shop-server-", suffix=".log", delete=False) as f:
        log = Path(f.name)
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603  (our own commands and arguments)
            [str(arg) for arg in args],
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, port, log)
    try:
        try:
            wait_for_port(port, timeout=startup_timeout)
        except TimeoutError:
            raise AssertionError(f"{args} did not start:\n{server.output()}") from None
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)
        log.unlink(missing_ok=True)
