"""The ceiling: a bare FastAPI hello endpoint, served with uvicorn's stock protocols.

`python -m bench.hello PORT` runs it on 127.0.0.1 (uvloop, httptools, no access log). The
services differ in the application, and in writing each response in one piece
(`shared/http_server.py`, which the baseline leaves out so that it stays uvicorn as shipped).
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI

from shared.http_server import OneWriteHttpProtocol

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


def main() -> None:
    port = int(sys.argv[1])
    # `--one-write`: the services' protocol instead, for bench.http_protocol's comparison.
    one_write = sys.argv[2:] == ["--one-write"]
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http=OneWriteHttpProtocol if one_write else "httptools",
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
