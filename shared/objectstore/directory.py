"""The embedded object store: one file per object under a directory (`.sciplan/objects`).

A put writes to a temporary file in the same directory tree, flushes it to disk and renames
it into place, so an object is either all there or not there at all, and a reader never sees a
half-written one. File work runs in threads: the event loop never waits for the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import BinaryIO

from shared.objectstore.base import (
    CHUNK_BYTES,
    InvalidKey,
    ObjectNotFound,
    ObjectStream,
    StoredObject,
    checked_key,
)

# Keys never start with a dot (base.checked_key): this folder cannot collide with an object.
INCOMING = ".incoming"


class DirectoryStore:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / checked_key(key)).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise InvalidKey(f"not a valid object key: {key!r}")  # e.g. through a symlink
        return path

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> StoredObject:
        path = self._path(key)
        incoming = self.root / INCOMING
        await asyncio.to_thread(incoming.mkdir, parents=True, exist_ok=True)
        fd, temporary = await asyncio.to_thread(tempfile.mkstemp, dir=incoming)
        handle = os.fdopen(fd, "wb")
        digest, size, pending = hashlib.sha256(), 0, bytearray()
        try:
            async for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                pending += chunk
                if len(pending) >= CHUNK_BYTES:
                    await asyncio.to_thread(handle.write, pending)
                    pending = bytearray()
            await asyncio.to_thread(_finish, handle, pending, temporary, path)
        except BaseException:
            await asyncio.to_thread(_discard, handle, temporary)
            raise
        return StoredObject(key=key, size=size, sha256=digest.hexdigest())

    async def get(self, key: str, offset: int = 0, length: int | None = None) -> ObjectStream:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

        async def release() -> None:
            await asyncio.to_thread(handle.close)

        return ObjectStream(_chunks(handle, offset, length), release)

    async def size(self, key: str) -> int | None:
        try:
            return (await asyncio.to_thread(self._path(key).stat)).st_size
        except (FileNotFoundError, NotADirectoryError):
            return None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def close(self) -> None:
        return None


def _finish(handle: BinaryIO, pending: bytearray, temporary: str, path: Path) -> None:
    with handle:
        handle.write(pending)
        handle.flush()
        os.fsync(handle.fileno())
    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temporary, path)


def _discard(handle: BinaryIO, temporary: str) -> None:
    handle.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)


async def _chunks(handle: BinaryIO, offset: int, length: int | None) -> AsyncIterator[bytes]:
    await asyncio.to_thread(handle.seek, offset)
    left = length
    while left is None or left > 0:
        want = CHUNK_BYTES if left is None else min(CHUNK_BYTES, left)
        chunk = await asyncio.to_thread(handle.read, want)
        if not chunk:
            return
        if left is not None:
            left -= len(chunk)
        yield chunk
