"""A throwaway PostgreSQL cluster of the test's own: initdb, start, stop, restart, removed.

Fault tests restart or stop *this* server, never the shared one (127.0.0.1:5432, which
every other test and every other checkout uses). A TCP proxy in front of the shared server
(:mod:`tests.support.tcp_proxy`) can only imitate an outage; a real restart also
terminates every backend with an administrator's FATAL, refuses connections while the
postmaster is down, and comes back with fresh process ids.

The cluster lives in a temporary folder of its own (data directory, server log, Unix
socket), listens on 127.0.0.1 only, on a :func:`~tests.support.ports.free_port` below the
ephemeral range (another one is drawn if a process took it first), trusts every local
connection (user ``postgres``) and trades durability for speed (``fsync=off``, small
``shared_buffers``). Its settings are one file in the data directory
(``nexus_shop_test.conf``, included by ``postgresql.conf``), written at every start and by
:meth:`PostgresServer.configure`. A cluster made another way than ``initdb`` takes its own
port and socket the same way: a replica is a second :class:`PostgresServer` whose
``data_dir`` ``pg_basebackup`` fills (:meth:`PostgresServer.run` runs it as the right OS
user) before its first :meth:`~PostgresServer.start`, which then skips ``initdb``.

The binaries are ``NEXUS_SHOP_POSTGRES_BIN`` if set, else the newest
``/usr/lib/postgresql/<major>/bin`` (Debian, Ubuntu), else ``initdb`` on PATH; missing,
the test is skipped on a developer's machine and fails in CI. PostgreSQL refuses to run as
root: as root, every command runs as the ``postgres`` OS user (``runuser``), who then owns
the temporary folder.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import dj_database_url
import psycopg
import pytest
from cachalot.api import cachalot_disabled
from django.db import connections

from tests.support import CI
from tests.support.ports import PortInUse, address_in_use, on_free_port

OS_USER: Final = "postgres"  # who runs the server when the tests run as root
SUPERUSER: Final = "postgres"  # the cluster's superuser (trusted, no password)
CONFIG_FILE: Final = "nexus_shop_test.conf"

# Fast and small: a test cluster holds a few thousand rows and is thrown away. Without
# fsync a commit is still written to the WAL before it is acknowledged: only a crash of
# the machine could lose it, and a server stopped with ``-m immediate`` (PostgreSQL's own
# crash) recovers every acknowledged commit. Asynchronous commit would not, so it stays on.
DEFAULT_SETTINGS: Final[Mapping[str, str]] = {
    "fsync": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_connections": "50",
}


def postgres_bin_dir() -> Path:
    """The folder of ``initdb``, ``pg_ctl``, ``postgres``...; skip (locally) or fail (in CI)
    when there is none."""
    if configured := os.environ.get("NEXUS_SHOP_POSTGRES_BIN"):
        candidates = [Path(configured)]
    else:
        installed = Path("/usr/lib/postgresql").glob("*/bin")
        candidates = sorted(
            (path for path in installed if path.parent.name.isdigit()),
            key=lambda path: int(path.parent.name),
            reverse=True,
        )
        if on_path := shutil.which("initdb"):
            candidates.append(Path(on_path).parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    message = "PostgreSQL's server binaries (initdb, pg_ctl) are not installed"
    if CI:
        pytest.fail(f"{message} (CI must have them)")
    pytest.skip(message)


def _quoted(value: str) -> str:
    """``value`` as a postgresql.conf string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


class PostgresServer:
    """One cluster: ``initdb()`` once, then ``start()``, ``stop()``, ``restart()`` at will,
    and ``cleanup()`` (also on leaving a ``with`` block) stops it and deletes every file.

    ``port`` is drawn at the first start unless given; it is kept across restarts.
    ``settings`` are added to (and override) :data:`DEFAULT_SETTINGS`.
    """

    def __init__(self, *, port: int | None = None, settings: Mapping[str, str] = {}) -> None:
        self.bin_dir = postgres_bin_dir()
        self.settings = {**DEFAULT_SETTINGS, **settings}
        self._port = port
        self._as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="nexus-shop-pg-"))
        if self._as_root:
            owner = pwd.getpwnam(OS_USER)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.data_dir = self.root / "data"
        self.socket_dir = self.root  # short: a socket path is limited to about 100 bytes
        self.log = self.root / "server.log"

    # -- where it is ------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._port is not None, "start() first"
        return self._port

    def url(self, database: str = "postgres") -> str:
        """``postgres://postgres@127.0.0.1:<port>/<database>``, as ``DATABASE_URL`` takes it."""
        return f"postgres://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        """Whether the postmaster runs (``pg_ctl status``)."""
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        return self.run("pg_ctl", "status", "-D", self.data_dir, check=False).returncode == 0

    def output(self) -> str:
        """The server's log so far (every start appends to it)."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # -- life cycle -------------------------------------------------------------------

    def initdb(self) -> None:
        """Create the cluster: UTF-8, C locale, trust authentication for every local
        connection, no fsync of the new files."""
        self.run(
            "initdb", "-D", self.data_dir, "-U", SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions",
        )  # fmt: skip
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"\ninclude_if_exists = {_quoted(CONFIG_FILE)}\n")

    def configure(self, **settings: str) -> None:
        """Change settings; they apply at the next start or restart (``pg_ctl reload`` for
        those that allow it)."""
        self.settings.update(settings)
        if self._port is not None and (self.data_dir / "PG_VERSION").exists():
            self._write_config()

    def _write_config(self) -> None:
        """Write the data directory's settings file: :attr:`settings`, the port and the
        socket folder. A copied data directory (``pg_basebackup``) gets its own."""
        assert self._port is not None
        lines = {
            **self.settings,
            "port": str(self._port),
            "listen_addresses": _quoted("127.0.0.1"),
            "unix_socket_directories": _quoted(str(self.socket_dir)),
        }
        text = "".join(f"{name} = {value}\n" for name, value in lines.items())
        self._write(self.data_dir / CONFIG_FILE, text)

    def start(self) -> None:
        """Start (after :meth:`initdb` if there is no cluster yet) and wait until it accepts
        connections. The first start draws a free port, and another one if that port was
        taken meanwhile; later starts keep it."""
        if not (self.data_dir / "PG_VERSION").exists():
            self.initdb()
        if self._port is None:
            on_free_port(self._start_on)
        else:
            self._start_on(self._port)

    def stop(self, mode: str = "fast") -> None:
        """Stop and wait until the postmaster has exited. ``fast`` (the default) terminates
        every session (each client gets an administrator's FATAL) and checkpoints; ``smart``
        waits for the sessions to end; ``immediate`` aborts, as a crash does."""
        self.run("pg_ctl", "stop", "-D", self.data_dir, "-m", mode, "-w", "-t", "30")

    def restart(self, mode: str = "fast") -> None:
        """:meth:`stop` in ``mode``, then start again on the same port with the same
        settings, and wait until it accepts connections."""
        since = self.log.stat().st_size if self.log.exists() else 0
        result = self.run(
            "pg_ctl", "restart", "-D", self.data_dir, "-m", mode, "-w", "-t", "30",
            "-l", self.log, check=False,
        )  # fmt: skip
        self._started(result, since)

    def reload(self) -> None:
        """Apply changed settings that need no restart (``pg_ctl reload``)."""
        self.run("pg_ctl", "reload", "-D", self.data_dir)

    def cleanup(self) -> None:
        """Stop at once if it runs (nothing in it is kept), then delete every file."""
        try:
            if self.running:
                self.stop(mode="immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.cleanup()

    # -- in it ------------------------------------------------------------------------

    def execute(self, sql: str, *, database: str = "postgres") -> list[tuple[Any, ...]]:
        """Run one statement in autocommit (``CREATE DATABASE`` included); its rows, if any."""
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as conn:
            # As bytes: psycopg's types accept only a literal str (injection-safe by type).
            cursor = conn.execute(sql.encode())
            return cursor.fetchall() if cursor.description is not None else []

    def create_database(self, name: str) -> str:
        """Create an empty database ``name``; its URL."""
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", name), f"a plain identifier, not {name!r}"
        self.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def copy_schema(self, source_url: str, database: str) -> str:
        """Create ``database`` with the schema (tables, sequences, indexes, constraints; no
        rows) of the database at ``source_url``, on any server: ``pg_dump`` only reads it.
        Returns its URL.

        The suite's test database was migrated when the run began: copying its schema
        takes 0.3 to 0.8 s, where ``manage.py migrate`` in a new process takes 4 to 6 s
        (a busy 2-core machine).
        """
        url = self.create_database(database)
        schema = self.run(
            "pg_dump", "--schema-only", "--no-owner", "--no-privileges", "--dbname", source_url
        ).stdout
        self.run(
            "psql", "--quiet", "--no-psqlrc", "--set", "ON_ERROR_STOP=1", "--dbname", url,
            input=schema,
        )  # fmt: skip
        return url

    def run(
        self, program: str, *args: str | Path, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run one of the installation's programs (``pg_ctl``, ``psql``, ``pg_basebackup``...)
        as the server's OS user, in the cluster's folder, ``input`` on its standard input;
        with ``check``, fail with its output (and the server log's end) unless it exits 0."""
        result = subprocess.run(  # noqa: S603  (PostgreSQL's own binaries, our arguments)
            self._command(program, *args),
            cwd=self.root,  # readable by the postgres user, unlike the checkout maybe
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check:
            assert result.returncode == 0, (
                f"{program} {' '.join(map(str, args))} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}\n{self.output()[-3000:]}"
            )
        return result

    # -- how ----------------------------------------------------------------------------

    def _start_on(self, port: int) -> None:
        self._port = port
        self._write_config()
        since = self.log.stat().st_size if self.log.exists() else 0
        result = self.run(
            "pg_ctl", "start", "-D", self.data_dir, "-w", "-t", "30", "-l", self.log,
            check=False,
        )  # fmt: skip
        self._started(result, since)

    def _started(self, result: subprocess.CompletedProcess[str], since: int) -> None:
        """Raise unless ``pg_ctl`` started the server; :class:`PortInUse` when its port was
        taken (the log from ``since`` says why)."""
        if result.returncode == 0:
            return
        log = self.output()[since:]
        if address_in_use(log):
            raise PortInUse(f"port {self._port} was taken:\n{log}")
        raise AssertionError(
            f"PostgreSQL did not start (pg_ctl exited {result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}\n{log}"
        )

    def _command(self, program: str, *args: str | Path) -> list[str]:
        command = [str(self.bin_dir / program), *map(str, args)]
        return ["runuser", "-u", OS_USER, "--", *command] if self._as_root else command

    def _write(self, path: Path, text: str) -> None:
        """Write ``path`` in the cluster, owned by the server's user."""
        path.write_text(text)
        if self._as_root:
            owner = pwd.getpwnam(OS_USER)
            os.chown(path, owner.pw_uid, owner.pw_gid)


@contextmanager
def running_postgres(*, settings: Mapping[str, str] = {}) -> Iterator[PostgresServer]:
    """A started :class:`PostgresServer`, stopped and deleted on exit whatever happened."""
    with PostgresServer(settings=settings) as server:
        yield server


@contextmanager
def running_replica(
    primary: PostgresServer, *, settings: Mapping[str, str] = {}
) -> Iterator[PostgresServer]:
    """A streaming replica of ``primary``, started; stopped and deleted on exit.

    ``pg_basebackup -R`` (run as the server's OS user) copies the primary's data directory
    and writes ``standby.signal`` and ``primary_conninfo``; the copy then gets its own port
    and settings (``hot_standby`` on, plus ``settings``, e.g. ``recovery_min_apply_delay``:
    ``replica.configure(...)`` and ``replica.reload()`` change it while it runs). initdb's
    ``pg_hba.conf`` already trusts local replication connections.
    """
    replica = PostgresServer(settings={"hot_standby": "on", **settings})
    try:
        replica.run(
            "pg_basebackup", "-D", replica.data_dir, "-h", "127.0.0.1",
            "-p", str(primary.port), "-U", SUPERUSER, "-R", "-X", "stream", "--no-sync",
        )  # fmt: skip
        replica.start()
        yield replica
    finally:
        replica.cleanup()


def replay_lsn(replica: PostgresServer) -> str | None:
    """How far ``replica`` has replayed (``pg_last_wal_replay_lsn()``)."""
    value = replica.execute("SELECT pg_last_wal_replay_lsn()::text")[0][0]
    return None if value is None else str(value)


@contextmanager
def django_connected_to(url: str, *, alias: str = "default") -> Iterator[None]:
    """Point this process's Django connection ``alias`` (``default``) at the database at
    ``url`` for the block (factories, services and queries then read and write there), and
    back to the suite's test database afterwards.

    The connection is closed at both ends; the suite's settings (``settings.DATABASES``)
    are not touched: only the connection's own copy is replaced. Close it again
    (``connection.close()``) after a restart of the server in the block: a dead
    connection is not reopened on its own. django-cachalot is off in the block: its keys
    are the alias and the SQL, the same for both databases.
    """
    chosen = connections[alias]
    original = chosen.settings_dict
    target = dj_database_url.parse(url)
    chosen.close()
    chosen.settings_dict = {
        **original,
        **{key: target[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")},
    }
    try:
        with cachalot_disabled():
            yield
    finally:
        chosen.close()
        chosen.settings_dict = original
