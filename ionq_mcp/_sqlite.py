"""Opening the SQLite files that several threads and processes share (sandbox store, spend ledger).

Kept outside the layers so the sandbox and the guard use one implementation without importing each other.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

#: How long a connection waits for another writer before giving up, in seconds.
BUSY_TIMEOUT_S = 30.0


def connect(path: str) -> sqlite3.Connection:
    """An autocommit connection usable from any thread, in WAL mode for a file (``":memory:"`` stays as is).

    The caller serialises use of the connection (a lock) and opens transactions explicitly.
    """
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    if path != ":memory:":
        _enable_wal(db)
        db.execute("PRAGMA synchronous = NORMAL")
    return db


def _enable_wal(db: sqlite3.Connection) -> None:
    # WAL is a property of the file, so only the first connection ever switches it. Switching needs a moment
    # with no other connection in a transaction, and SQLite reports "database is locked" at once instead of
    # waiting through the busy handler, so wait here.
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
