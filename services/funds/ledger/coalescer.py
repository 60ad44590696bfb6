"""Group commit for the ledger: batches that arrive while a statement runs go together in the next.

One statement of `funds.create_transfers` costs PostgreSQL nearly as much for one transfer as
for a few dozen (the commit's flush to disk, starting each statement, locking and updating a
hot account), and every statement costs this service a round trip. So under load a transfer sent
alone costs several times what it costs in company. For each actor the coalescer runs at most
`in_flight` statements at once; batches that arrive meanwhile wait, then go together in the
next statement, up to the ledger's limit of `MAX_BATCH` transfers. On a quiet ledger nothing
waits: the first batch is sent at once. A statement still running after `stall_seconds` (one
waiting for a lock, say) stops holding the others back: if batches are waiting, another
statement takes them then, so one blocked transfer cannot keep the actor's others waiting for
longer than that.

Joining batches keeps their meaning:
- Transfers are applied in order, and each succeeds or fails on its own. The only exception is a
  linked chain, and a chain never crosses a batch's end. In a batch that ends inside a chain,
  the function fails that open chain; joined to the next batch, the chain would run on into it
  instead, so `joinable` keeps such a batch out.
- Batches that arrive together have no order between them; joined, they run in arrival order.
- The actor is one per statement, so batches of different actors are never joined.
- The statement's `now` is read when it is sent.
- A joined statement can fail for a reason other than the ledger being busy (which the client is
  told to retry) or the database being out of reach. Then each batch is sent again alone, so
  one batch's error never becomes another's.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.funds.exceptions import LedgerBusy
from services.funds.ledger.repository import create_transfers_alone
from services.funds.ledger.schemas import MAX_BATCH, TransferIn, batch_adapter
from shared.db import Database, is_database_outage

log = logging.getLogger(__name__)


def joinable(batch: Sequence[TransferIn]) -> bool:
    """Whether the batch may share a statement: not one ending inside a linked chain."""
    return bool(batch) and not batch[-1].linked


@dataclass(eq=False)
class _Waiting:
    items: bytes  # the batch's JSON array without its brackets
    size: int
    answer: asyncio.Future[list[str]] = field(repr=False)


class LedgerCoalescer:
    def __init__(
        self,
        database: Database,
        clock: Callable[[], datetime],
        *,
        in_flight: int = 2,
        stall_seconds: float = 0.05,
        limit: int = MAX_BATCH,
    ) -> None:
        self.database = database
        self.clock = clock
        self.in_flight = in_flight
        self.stall_seconds = stall_seconds
        self.limit = limit
        self._waiting: dict[str, deque[_Waiting]] = {}
        self._running: dict[str, int] = {}
        self._drains: set[asyncio.Task[None]] = set()

    async def create(self, batch: Sequence[TransferIn], *, actor: str) -> list[str]:
        """The function's answer for each transfer of `batch`, in order."""
        if not joinable(batch) or len(batch) > self.limit:
            return await self._statement(self._array([self._items(batch)]), actor)
        waiting = _Waiting(
            self._items(batch), len(batch), asyncio.get_running_loop().create_future()
        )
        self._waiting.setdefault(actor, deque()).append(waiting)
        if self._running.get(actor, 0) < self.in_flight:
            self._start_drain(actor)
        # A request cancelled here cancels its future; the drain then skips it, or, if its
        # statement was already sent, drops the answer (as for a client gone mid-statement).
        return await waiting.answer

    def waiting(self) -> int:
        """How many batches are waiting for a statement, all actors together."""
        return sum(len(queue) for queue in self._waiting.values())

    @staticmethod
    def _items(batch: Sequence[TransferIn]) -> bytes:
        # Every field, defaults included, as the function hashes each transfer's body.
        return batch_adapter.dump_json(list(batch))[1:-1]

    @staticmethod
    def _array(items: Sequence[bytes]) -> str:
        return (b"[" + b",".join(items) + b"]").decode()

    def _start_drain(self, actor: str) -> None:
        self._running[actor] = self._running.get(actor, 0) + 1
        drain = asyncio.create_task(self._drain(actor))
        self._drains.add(drain)
        drain.add_done_callback(self._drains.discard)

    def _stalled(self, actor: str) -> None:
        if self._waiting.get(actor):
            self._start_drain(actor)

    async def _drain(self, actor: str) -> None:
        queue = self._waiting[actor]
        loop = asyncio.get_running_loop()
        try:
            while queue:
                taken: list[_Waiting] = []
                size = 0
                while queue and (not taken or size + queue[0].size <= self.limit):
                    waiting = queue.popleft()
                    if not waiting.answer.done():
                        taken.append(waiting)
                        size += waiting.size
                if taken:
                    stall = loop.call_later(self.stall_seconds, self._stalled, actor)
                    try:
                        await self._send(taken, actor)
                    finally:
                        stall.cancel()
        finally:
            self._running[actor] -= 1
            if not self._running[actor]:
                del self._running[actor]
                if not queue:
                    del self._waiting[actor]

    async def _send(self, taken: list[_Waiting], actor: str) -> None:
        try:
            answers = await self._statement(self._array([w.items for w in taken]), actor)
        except LedgerBusy:
            for waiting in taken:
                _settle(waiting, error=LedgerBusy(headers={"Retry-After": "1"}))
            return
        except Exception as exc:
            if len(taken) == 1 or is_database_outage(exc):
                # An outage is every batch's alike: sending each again would only meet it again.
                for waiting in taken:
                    _settle(waiting, error=exc)
                return
            log.warning(
                "a joined ledger statement failed (%s); sending each batch alone",
                exc.__class__.__name__,
            )
            for waiting in taken:
                if not waiting.answer.done():
                    await self._send([waiting], actor)
            return
        except BaseException:
            for waiting in taken:
                _settle(waiting, error=LedgerBusy(headers={"Retry-After": "1"}))
            raise
        start = 0
        for waiting in taken:
            _settle(waiting, answers=answers[start : start + waiting.size])
            start += waiting.size

    async def _statement(self, batch_json: str, actor: str) -> list[str]:
        async with self.database.reading() as connection:
            return await create_transfers_alone(
                connection, batch_json, actor=actor, now=self.clock()
            )


def _settle(
    waiting: _Waiting, *, answers: list[str] | None = None, error: BaseException | None = None
) -> None:
    if waiting.answer.done():  # its request was cancelled meanwhile
        return
    if error is not None:
        waiting.answer.set_exception(error)
    else:
        assert answers is not None
        waiting.answer.set_result(answers)
