"""The object store, on a directory and on a real S3-compatible server: streams in and out,
whole or in part, all or nothing, and keys that cannot leave the store."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import pytest

from shared.objectstore import sigv4
from shared.objectstore.base import InvalidKey, ObjectNotFound, ObjectStore, checked_key
from shared.objectstore.directory import INCOMING, DirectoryStore
from shared.objectstore.s3 import S3Store
from tests.s3_server import S3Server

CONTENT = os.urandom(1_300_000)


async def chunked(data: bytes, size: int = 70_001) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def leftovers(folder: Path) -> list[str]:
    return os.listdir(folder)


class Broken(Exception):
    pass


async def breaking(data: bytes) -> AsyncIterator[bytes]:
    async for chunk in chunked(data[: len(data) // 2]):
        yield chunk
    raise Broken()


@pytest.fixture(params=["directory", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    if request.param == "directory":
        yield DirectoryStore(tmp_path / "objects")
        return
    server: S3Server = request.getfixturevalue("s3")
    s3 = S3Store(
        endpoint=server.endpoint,
        bucket=f"t{os.urandom(6).hex()}",
        access_key=server.access_key,
        secret_key=server.secret_key,
        spool_dir=str(tmp_path),
    )
    await s3.ensure_bucket()
    try:
        yield s3
    finally:
        await s3.close()


async def test_a_stream_goes_in_and_comes_out_whole_or_in_ranges(store: ObjectStore) -> None:
    stored = await store.put("attachments/one", chunked(CONTENT))
    assert stored.size == len(CONTENT)
    assert stored.sha256 == hashlib.sha256(CONTENT).hexdigest()
    assert await store.size("attachments/one") == len(CONTENT)

    assert await (await store.get("attachments/one")).read_all() == CONTENT
    middle = await store.get("attachments/one", offset=1000, length=300_000)
    assert await middle.read_all() == CONTENT[1000:301_000]
    tail = await store.get("attachments/one", offset=len(CONTENT) - 10)
    assert await tail.read_all() == CONTENT[-10:]
    # A reader that stops after the first chunk releases what it held.
    partial = await store.get("attachments/one")
    assert len(await partial.__anext__()) > 0
    await partial.aclose()

    await store.delete("attachments/one")
    await store.delete("attachments/one")  # already gone: not an error
    assert await store.size("attachments/one") is None
    with pytest.raises(ObjectNotFound):
        await store.get("attachments/one")


async def test_a_put_that_fails_midway_leaves_nothing_and_keeps_the_previous_object(
    store: ObjectStore, tmp_path: Path
) -> None:
    with pytest.raises(Broken):
        await store.put("attachments/new", breaking(CONTENT))
    assert await store.size("attachments/new") is None

    await store.put("attachments/kept", chunked(b"first version"))
    with pytest.raises(Broken):
        await store.put("attachments/kept", breaking(CONTENT))
    assert await (await store.get("attachments/kept")).read_all() == b"first version"
    if isinstance(store, DirectoryStore):
        assert leftovers(store.root / INCOMING) == []
    else:
        assert [name for name in leftovers(tmp_path) if name != "objects"] == []  # no spool


@pytest.mark.parametrize(
    "key",
    [
        "../outside",
        "attachments/../../outside",
        "/etc/passwd",
        "attachments//x",
        "attachments/./x",
        ".incoming/x",
        "attachments/..",
        "Attachments/x",
        "attachments\\..\\x",
        "attachments/%2e%2e/x",
        "attachments/x\x00",
        "",
        "a" * 201,
    ],
)
async def test_keys_that_could_leave_the_store_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        await store.put(key, chunked(b"x"))
    with pytest.raises(InvalidKey):
        await store.get(key)
    with pytest.raises(InvalidKey):
        await store.delete(key)


async def test_a_directory_store_does_not_follow_a_link_out_of_its_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store = DirectoryStore(tmp_path / "objects")
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / "linked").symlink_to(outside)
    with pytest.raises(InvalidKey):
        await store.put("linked/file", chunked(b"x"))
    assert list(outside.iterdir()) == []
    assert checked_key("attachments/0192f0c4-aaaa.pdf") == "attachments/0192f0c4-aaaa.pdf"


SIGNED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _botocore_authorization(method: str, url: str, headers: dict[str, str], body: bytes) -> str:
    # botocore comes with moto (a test dependency); the product itself does not use it.
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, headers=headers, data=body)
    signer = S3SigV4Auth(Credentials("AKIDEXAMPLE", "secret/EXAMPLE"), "s3", "eu-west-1")
    with mock.patch("botocore.auth.get_current_datetime", return_value=SIGNED_AT):
        signer.add_auth(request)
    return str(request.headers["Authorization"])


@pytest.mark.parametrize(
    ("method", "headers", "body"),
    [
        ("PUT", {"Content-Length": str(len(CONTENT))}, CONTENT),
        ("GET", {"Range": "bytes=1000-300999"}, b""),
        ("DELETE", {}, b""),
    ],
    ids=["PUT", "GET", "DELETE"],  # the body is random: ids from it would differ per worker
)
def test_requests_are_signed_as_botocore_signs_them(
    method: str, headers: dict[str, str], body: bytes
) -> None:
    ours = sigv4.signed_headers(
        method=method,
        host="minio:9000",
        path="/sciplan/attachments/0192f0c4-7a1b",
        query={},
        headers=headers,
        payload_sha256=hashlib.sha256(body).hexdigest(),
        access_key="AKIDEXAMPLE",
        secret_key="secret/EXAMPLE",
        region="eu-west-1",
        now=SIGNED_AT,
    )
    url = "http://minio:9000/sciplan/attachments/0192f0c4-7a1b"
    assert ours["Authorization"] == _botocore_authorization(method, url, headers, body)
