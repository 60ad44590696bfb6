"""The signing key cache never makes a request wait for a reload once it has a ring."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from services.gateway.auth.keys import KeyRing, KeyStore


async def test_a_stale_ring_serves_while_one_reload_runs(gateway: FastAPI) -> None:
    store: KeyStore = gateway.state.key_store
    first = await store.ring()
    release = asyncio.Event()
    loads = 0
    real_load = store._load

    async def slow_load() -> KeyRing:
        # A reload that cannot get a database connection yet (the pool is busy with requests
        # that are themselves asking for the ring): they must not wait for it.
        nonlocal loads
        loads += 1
        await release.wait()
        return await real_load()

    store._load = slow_load  # type: ignore[method-assign]
    store.cache_seconds = 5.0  # the harness keeps rings forever (one shared connection)
    store._loaded_at -= 3600  # stale
    answers = await asyncio.wait_for(asyncio.gather(*(store.ring() for _ in range(20))), 1)
    assert all(ring is first for ring in answers)
    assert loads == 1  # one reload for everyone, in the background

    release.set()
    await asyncio.sleep(0.1)
    fresh = await store.ring()
    assert fresh is not first
    assert fresh.signing_kid == first.signing_kid


async def test_after_invalidate_the_next_caller_waits_for_a_fresh_ring(gateway: FastAPI) -> None:
    store: KeyStore = gateway.state.key_store
    first = await store.ring()
    store.invalidate()
    again = await store.ring()
    assert again is not first
