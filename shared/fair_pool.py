"""A connection pool that serves waiting requests in the order they came.

SQLAlchemy's asyncio pool queue (like asyncpg's, MagicStack/asyncpg#1247) lets a newcomer take a
connection that was just returned for a waiter who has been woken but not run yet; that waiter
then queues again at the back. Under load a few requests lose many times in a row: with 32
clients on a pool of 10, p99 was five times p50 (`bench.credit_ratings`, direct to the credit
service). Here a returned connection goes straight to the oldest waiter, and nobody takes one
from the pool while others wait.

SQLAlchemy has no public hook for this: a checkout waits inside the pool, in synchronous code
run under a greenlet, and the public ones (pool events, `creator` / `async_creator`) run only
after the wait or only for new connections; a gate of our own in front of every checkout would
have to hold a connection's place for a whole session, connections being taken lazily at its
first statement. So this module relies on these internals, and SQLAlchemy is pinned exactly
(pyproject.toml) to the version they were checked against, `VERIFIED_WITH`:

- `AsyncAdaptedQueuePool._queue_class`, from which `QueuePool.__init__` builds its queue as
  `_queue_class(pool_size, use_lifo=...)`;
- the pool takes connections with `queue.get(block, timeout)` and returns them with
  `queue.put(record, False)`, which calls `put_nowait`; `Empty` means none came in time;
- `sqlalchemy.util.queue.AsyncAdaptedQueue` (its constructor, `empty`, `get_nowait`,
  `put_nowait`) and `sqlalchemy.util.await_`, which waits on a future from that greenlet.

`tests/shared/test_fair_pool.py` checks each of them and says which one changed; upgrade
SQLAlchemy only once it passes, then move `VERIFIED_WITH` and the pin together.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import sqlalchemy
from sqlalchemy.pool import AsyncAdaptedQueuePool

VERIFIED_WITH = "2.1.9"

try:
    from sqlalchemy.util import await_
    from sqlalchemy.util.queue import AsyncAdaptedQueue, Empty
except ImportError as exc:  # pragma: no cover - only with another SQLAlchemy than the pinned one
    raise ImportError(
        f"shared/fair_pool.py relies on SQLAlchemy internals that SQLAlchemy "
        f"{sqlalchemy.__version__} no longer has ({exc}); it was verified with {VERIFIED_WITH} "
        "(see the module's docstring)"
    ) from exc


class FifoQueue(AsyncAdaptedQueue[Any]):
    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        super().__init__(maxsize, use_lifo)
        self._waiters: deque[asyncio.Future[Any]] = deque()

    def _someone_waits(self) -> bool:
        while self._waiters and self._waiters[0].done():
            self._waiters.popleft()  # gave up (timed out or cancelled)
        return bool(self._waiters)

    def put_nowait(self, item: Any) -> None:
        if self._someone_waits():
            self._waiters.popleft().set_result(item)
        else:
            super().put_nowait(item)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if not self._someone_waits() and not self.empty():
            return self.get_nowait()
        if not block:
            raise Empty()
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            if timeout is None:
                return await_(waiter)
            return await_(asyncio.wait_for(waiter, timeout))
        except TimeoutError as exc:
            raise Empty() from exc
        except BaseException:
            # Cancelled after a connection was handed over: pass it on, do not leak it.
            if waiter.done() and not waiter.cancelled():
                self.put_nowait(waiter.result())
            raise


class FifoAsyncPool(AsyncAdaptedQueuePool):
    """`AsyncAdaptedQueuePool` with `FifoQueue`: pass as `poolclass` to `create_async_engine`."""

    _queue_class = FifoQueue
