"""The object store in a service's requests: the app's store, objects a failed request must
not leave behind, and a response that streams an object."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from shared.errors import ServiceUnavailable, Text, problem_response
from shared.objectstore.base import ObjectStore, ObjectStoreError, ObjectStream

log = logging.getLogger(__name__)


async def _app_store(request: Request) -> ObjectStore:
    store: ObjectStore = request.app.state.objects
    return store


# The app's store (`app.state.objects`, made by the service's `create_app`).
ObjectStoreDep = Annotated[ObjectStore, Depends(_app_store)]


class NewObjects:
    """Keys of objects this request wrote, removed again if the request fails."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.keys: list[str] = []

    def add(self, key: str) -> None:
        self.keys.append(key)

    async def discard(self) -> None:
        for key in self.keys:
            try:
                await self.store.delete(key)
            except ObjectStoreError:
                log.exception("could not remove %s, written by a failed request", key)


async def _new_objects(store: ObjectStoreDep) -> AsyncIterator[NewObjects]:
    written = NewObjects(store)
    try:
        yield written
    except BaseException:
        await written.discard()
        raise


# Declare it before the request's session (SessionDep): torn down after the session, it also
# sees a commit that failed, and removes what the request wrote to the store.
NewObjectsDep = Annotated[NewObjects, Depends(_new_objects, scope="function")]


class ObjectResponse(StreamingResponse):
    """Streams an ObjectStream, and releases it however the response ends (also when the
    client goes away midway)."""

    def __init__(
        self,
        stream: ObjectStream,
        *,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        super().__init__(stream, status_code=status_code, headers=headers, media_type=media_type)
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with contextlib.suppress(Exception):
                await self.stream.aclose()


_STORE_DOWN = Text(
    "文件存储暂不可用，请稍后重试", "The file store is unavailable; try again shortly"
)


async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("object store unavailable: %s", exc)
    return problem_response(
        request,
        status=503,
        code="storage.unavailable",
        title=ServiceUnavailable.title,
        detail=_STORE_DOWN,
        headers={"Retry-After": "2"},
    )


def install_object_store(app: FastAPI, store: ObjectStore) -> None:
    """`store` as the app's (ObjectStoreDep), a 503 when it fails, closed at shutdown (the
    service also lists `close_at_shutdown` among its background jobs)."""
    app.state.objects = store
    app.add_exception_handler(ObjectStoreError, _store_unavailable)


async def close_at_shutdown(app: FastAPI, stop: asyncio.Event) -> None:
    """A service's background job: closes the app's store (its connections) at shutdown."""
    try:
        await stop.wait()
    finally:
        store: ObjectStore = app.state.objects
        await store.close()
