"""The services' log: JSON lines on standard error, handed to the system in small batches, but
never lost on a normal exit and never late for a warning."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from typing import Any

# A process configured as the services are, driven line by line from its standard input.
_CHILD = """
import logging, sys
from shared.logging import configure_logging
configure_logging("gateway", "INFO")
log = logging.getLogger("sciplan.access")
for command in sys.stdin:
    level, text = command.split()
    if level == "exit":
        break
    if level == "slowly":  # the flushing thread waits long from now on
        logging.getLogger().handlers[0].flush_seconds = float(text)
        continue
    getattr(log, level)(text, extra={"path": "/api/credit/v1/我的", "big": 2**70})
"""


def _lines(stream: Any, want: int, within: float) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + within
    buffered = b""
    while len(found) < want and (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([stream], [], [], left)
        if not ready:
            break
        chunk = os.read(stream.fileno(), 65536)
        if not chunk:
            break
        buffered += chunk
        *complete, buffered = buffered.split(b"\n")
        found += [json.loads(line) for line in complete if line]
    return found


def test_lines_reach_the_log_soon_warnings_at_once_and_everything_before_exit() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert child.stdin is not None
    assert child.stderr is not None
    try:
        child.stdin.write(b"info first\n")
        child.stdin.flush()
        # Nothing else happens in the process: the flushing thread hands the line over.
        (first,) = _lines(child.stderr, 1, within=5)
        assert (first["level"], first["msg"], first["path"]) == (
            "info",
            "first",
            "/api/credit/v1/我的",
        )
        assert first["big"] == 2**70  # beyond orjson's integers: written all the same

        # Info lines wait for the thread (now slow); a warning takes them along at once.
        child.stdin.write(b"slowly 60\n")
        child.stdin.flush()
        time.sleep(0.3)  # the thread's current short wait ends
        child.stdin.write(b"info second\n")
        child.stdin.flush()
        assert _lines(child.stderr, 1, within=1) == []
        child.stdin.write(b"warning third\n")
        child.stdin.flush()
        assert [line["msg"] for line in _lines(child.stderr, 2, within=5)] == ["second", "third"]

        child.stdin.write(b"info last\nexit now\n")
        child.stdin.flush()
        assert child.wait(timeout=10) == 0
        assert [line["msg"] for line in _lines(child.stderr, 1, within=5)] == ["last"]
    finally:
        child.kill()
        child.wait()
