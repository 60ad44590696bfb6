"""The object store interface, its keys and its errors."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

# Reads and writes move this much at a time: large enough for few system calls and round
# trips, small enough that fifty transfers at once stay within a few megabytes.
CHUNK_BYTES = 256 * 1024

# Lower-case letters, digits and `._-` in `/`-separated segments, none of them `.` or `..`:
# a key names a place inside the store and nothing else, whatever the backend makes of it.
_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
MAX_KEY_LENGTH = 200


class ObjectStoreError(Exception):
    """The store could not do what was asked (unreachable, refused, out of space)."""


class ObjectNotFound(ObjectStoreError):
    pass


class InvalidKey(ValueError):
    pass


def checked_key(key: str) -> str:
    """`key` if it is a safe object name; InvalidKey otherwise (no traversal, no absolute
    paths, no empty or dot segments, no characters a file system or URL would reinterpret)."""
    segments = key.split("/")
    if (
        len(key) > MAX_KEY_LENGTH
        or not all(_SEGMENT.match(segment) for segment in segments)
        or any(set(segment) <= {"."} for segment in segments)
    ):
        raise InvalidKey(f"not a valid object key: {key!r}")
    return key


@dataclass(frozen=True)
class StoredObject:
    """What a put wrote: its size and the SHA-256 (hex) of exactly those bytes."""

    key: str
    size: int
    sha256: str


class ObjectStream:
    """The bytes of an object (or of a range of it), chunk by chunk; `aclose()` releases the
    file or connection behind it, also when the reader stops early."""

    def __init__(self, chunks: AsyncIterator[bytes], release: Callable[[], Awaitable[None]]):
        self._chunks = chunks
        self._release = release
        self._closed = False

    def __aiter__(self) -> ObjectStream:
        return self

    async def __anext__(self) -> bytes:
        return await self._chunks.__anext__()

    async def read_all(self) -> bytes:
        """Everything left, in memory: for small objects and tests only."""
        try:
            return b"".join([chunk async for chunk in self])
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            aclose = getattr(self._chunks, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            await self._release()


class ObjectStore(Protocol):
    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> StoredObject:
        """Stores the chunks under `key`, all or nothing: if `chunks` raises, or the store
        fails, nothing is left at `key` (a previous object there stays as it was)."""
        ...

    async def get(self, key: str, offset: int = 0, length: int | None = None) -> ObjectStream:
        """The object's bytes from `offset`, `length` of them (None: to the end).
        Raises ObjectNotFound before returning, so a caller can still answer 404."""
        ...

    async def size(self, key: str) -> int | None:
        """The object's size in bytes; None if there is no object at `key`."""
        ...

    async def delete(self, key: str) -> None:
        """Removes the object; a key with no object is not an error."""
        ...

    async def close(self) -> None: ...


class DigestMismatch(Exception):
    """An object's bytes are not the ones recorded (damaged or replaced in the store).

    Not an ObjectStoreError (answered 503): it comes up mid-response, when only cutting the
    connection short is left, and is logged as the server error it is."""


def hash_checked(stream: ObjectStream, sha256: str) -> ObjectStream:
    """The same bytes, with their SHA-256 checked against `sha256` before the last chunk is
    given out: a damaged object ends in DigestMismatch, so a client never receives all of
    it as if it were sound (cut short, its Content-Length is not met)."""

    async def checked() -> AsyncIterator[bytes]:
        digest = hashlib.sha256()
        held: bytes | None = None
        async for chunk in stream:
            digest.update(chunk)
            if held is not None:
                yield held
            held = chunk
        if digest.hexdigest() != sha256:
            raise DigestMismatch(f"expected sha256 {sha256}, read {digest.hexdigest()}")
        if held is not None:
            yield held

    return ObjectStream(checked(), stream.aclose)
