"""An S3-compatible object store (MinIO, Ceph RGW, AWS S3, ...), spoken to directly over HTTP.

A put first spools the incoming chunks to a temporary file (bounded memory), learning the size
and SHA-256 that S3 wants before the body, then sends the file with its hash signed: the server
refuses a body whose hash differs, so what it keeps is verified on write. Reads are streamed,
with an HTTP Range for a part of the object. Path-style addressing (`endpoint/bucket/key`),
which every S3-compatible server understands.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import IO

import aiohttp
import yarl

from shared.clock import utcnow
from shared.objectstore import sigv4
from shared.objectstore.base import (
    CHUNK_BYTES,
    ObjectNotFound,
    ObjectStoreError,
    ObjectStream,
    StoredObject,
    checked_key,
)


class S3Store:
    def __init__(
        self,
        *,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        spool_dir: str | None = None,
        timeout_seconds: float = 60.0,
    ) -> None:
        self.endpoint = yarl.URL(endpoint.rstrip("/"))
        self.host = self.endpoint.raw_authority
        self.bucket = checked_key(bucket)
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.spool_dir = spool_dir
        # No total: a large file takes as long as it takes; a stalled connection does not.
        self.timeout = aiohttp.ClientTimeout(
            total=None, connect=5, sock_connect=5, sock_read=timeout_seconds
        )
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout,
                cookie_jar=aiohttp.DummyCookieJar(),  # nothing to keep: each request is signed
                auto_decompress=False,
                raise_for_status=False,
            )
        return self._session

    async def _request(
        self,
        method: str,
        key: str | None,
        *,
        headers: Mapping[str, str] | None = None,
        payload_sha256: str = sigv4.EMPTY_SHA256,
        data: AsyncIterable[bytes] | None = None,
    ) -> aiohttp.ClientResponse:
        path = f"/{self.bucket}" + (f"/{checked_key(key)}" if key is not None else "")
        signed = sigv4.signed_headers(
            method=method,
            host=self.host,
            path=path,
            query={},
            headers=headers or {},
            payload_sha256=payload_sha256,
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            now=utcnow(),
        )
        url = self.endpoint.with_path(sigv4.canonical_uri(path), encoded=True)
        try:
            return await self._http().request(
                method, url, headers=signed, data=data, allow_redirects=False
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise ObjectStoreError(f"{method} {path}: {exc!r}") from exc

    @staticmethod
    async def _fail(response: aiohttp.ClientResponse, what: str) -> ObjectStoreError:
        try:
            body = (await response.content.read(4096)).decode("utf-8", "replace")
        finally:
            response.release()
        if response.status == 404:
            return ObjectNotFound(what)
        return ObjectStoreError(f"{what}: HTTP {response.status} {body}")

    async def ensure_bucket(self) -> None:
        """Creates the bucket unless it exists (for development and tests; deployments
        create it with the server's own tools)."""
        response = await self._request("HEAD", None)
        response.release()
        if response.status == 200:
            return
        response = await self._request("PUT", None)
        if response.status not in (200, 409):
            raise await self._fail(response, f"create bucket {self.bucket}")
        response.release()

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> StoredObject:
        checked_key(key)
        with tempfile.TemporaryFile(dir=self.spool_dir) as spool:
            size, sha256 = await _spool(chunks, spool)
            response = await self._request(
                "PUT",
                key,
                headers={"Content-Length": str(size)},
                payload_sha256=sha256,
                data=_read_file(spool),
            )
            if response.status != 200:
                raise await self._fail(response, f"put {key}")
            response.release()
        return StoredObject(key=key, size=size, sha256=sha256)

    async def get(self, key: str, offset: int = 0, length: int | None = None) -> ObjectStream:
        headers = {}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            headers["Range"] = f"bytes={offset}-{end}"
        response = await self._request("GET", key, headers=headers)
        if response.status not in (200, 206):
            raise await self._fail(response, f"get {key}")

        async def release() -> None:
            response.release()

        return ObjectStream(_body(response), release)

    async def size(self, key: str) -> int | None:
        response = await self._request("HEAD", key)
        response.release()
        if response.status == 404:
            return None
        if response.status != 200 or response.content_length is None:
            raise ObjectStoreError(f"head {key}: HTTP {response.status}")
        return response.content_length

    async def delete(self, key: str) -> None:
        response = await self._request("DELETE", key)
        if response.status not in (200, 204, 404):
            raise await self._fail(response, f"delete {key}")
        response.release()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _spool(chunks: AsyncIterable[bytes], spool: IO[bytes]) -> tuple[int, str]:
    digest, size, pending = hashlib.sha256(), 0, bytearray()
    async for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        pending += chunk
        if len(pending) >= CHUNK_BYTES:
            await asyncio.to_thread(spool.write, pending)
            pending = bytearray()
    await asyncio.to_thread(spool.write, pending)
    await asyncio.to_thread(spool.flush)
    return size, digest.hexdigest()


async def _read_file(spool: IO[bytes]) -> AsyncIterator[bytes]:
    await asyncio.to_thread(spool.seek, 0)
    while chunk := await asyncio.to_thread(spool.read, CHUNK_BYTES):
        yield chunk


async def _body(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            yield chunk
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ObjectStoreError(f"reading {response.url}: {exc!r}") from exc
