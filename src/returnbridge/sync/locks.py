"""Work for one shop is serialised by a lease named after it ("shop:<account id>").

Two workers (or a worker and a foreground `returnbridge sync`) that would pull the same shop at once: the second
one finds the lease taken and skips. The holder renews the lease after every committed page; a holder that dies
lets it lapse after ``ttl`` and the next pull takes over. Correctness never depends on the lease alone: the
upsert refuses older data, so two pulls that did overlap still store each request once.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from returnbridge.db.engine import transaction
from returnbridge.db.repositories import leases
from returnbridge.errors import UserFacingError

if TYPE_CHECKING:
    from returnbridge.sync.runtime import Runtime

DEFAULT_TTL = timedelta(seconds=120)


class ShopBusy(UserFacingError):
    """Another process is working on this shop right now."""


class LeaseLost(RuntimeError):
    """Our lease lapsed and another holder took it: stop, the other holder carries on."""


def _holder() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:12]}"


class HeldLease:
    def __init__(self, runtime: Runtime, name: str, holder: str, ttl: timedelta) -> None:
        self._runtime = runtime
        self.name = name
        self.holder = holder
        self._ttl = ttl

    def renew(self) -> None:
        with transaction(self._runtime.sessions) as session:
            if not leases.renew(session, self.name, self.holder, now=datetime.now(UTC), ttl=self._ttl):
                raise LeaseLost(f"lease {self.name} was taken over after it lapsed")


def shop_lease_name(account_id: int) -> str:
    return f"shop:{account_id}"


@contextmanager
def lease(runtime: Runtime, name: str, *, ttl: timedelta = DEFAULT_TTL) -> Iterator[HeldLease]:
    holder = _holder()
    with transaction(runtime.sessions) as session:
        if not leases.try_acquire(session, name, holder, now=datetime.now(UTC), ttl=ttl):
            raise ShopBusy(f"{name} is being worked on by another process; try again shortly")
    try:
        yield HeldLease(runtime, name, holder, ttl)
    finally:
        with transaction(runtime.sessions) as session:
            leases.release(session, name, holder)
