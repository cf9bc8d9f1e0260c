"""A lease row: at most one process holds a named job (refreshing feeds) at a time, and it lapses if not renewed.

The holder renews well before expiry while it works; a process that dies stops renewing, so after at most one lease
time another process takes the job. Expiry is compared on the database's clock, so hosts whose clocks disagree
still agree on who holds it.
"""

from __future__ import annotations

import os
import secrets
import socket

from sqlalchemy import delete, select

from retrieval.state.database import Database
from retrieval.state.tables import leases as L


def holder_id() -> str:
    """Who this process is, as the lease table shows it: readable for operators, unique across restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Lease:
    def __init__(self, database: Database, name: str, ttl_s: float, holder: str | None = None) -> None:
        self._db = database
        self.name = name
        self.ttl_s = ttl_s
        self.holder = holder or holder_id()

    def acquire(self) -> bool:
        """Take the lease if it is free, lapsed or already ours (then it is renewed); True when we hold it now."""
        insert = self._db.insert(L).values(name=self.name, holder=self.holder, expires=self._db.now() + self.ttl_s)
        take = insert.on_conflict_do_update(
            index_elements=[L.c.name],
            set_={"holder": insert.excluded.holder, "expires": insert.excluded.expires},
            where=(L.c.expires < self._db.now()) | (L.c.holder == self.holder),
        )
        with self._db.write() as conn:
            conn.execute(take)
            return conn.scalar(select(L.c.holder).where(L.c.name == self.name)) == self.holder

    def current_holder(self) -> str | None:
        """Who holds the lease now, if anyone (a lapsed lease is held by nobody)."""
        query = select(L.c.holder).where(L.c.name == self.name, L.c.expires >= self._db.now())
        with self._db.read() as conn:
            return conn.scalar(query)

    def release(self) -> None:
        """Give the lease up at once (a clean shutdown), so the next process need not wait for it to lapse."""
        with self._db.write() as conn:
            conn.execute(delete(L).where(L.c.name == self.name, L.c.holder == self.holder))
