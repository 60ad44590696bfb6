"""Structured JSON logs, one object per line, with the request id carried across services (and
the trace id, inside a trace: `shared/tracing.py`)."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from opentelemetry import trace

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
REQUEST_ID_HEADER = "X-Request-ID"

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        try:
            return orjson.dumps(entry, default=str).decode()  # a tenth of json.dumps' time
        except TypeError:  # what orjson refuses (an integer beyond 64 bits)
            return json.dumps(entry, ensure_ascii=False, default=str)


class BufferedStreamHandler(logging.StreamHandler[TextIO]):
    """Writes each record as it comes, but hands the lines to the operating system at most every
    `flush_seconds` (a thread flushes what is waiting), and at once for a warning or an error
    (with the lines before it) and at exit. The gateway logs a line per request: a system call
    for each line was about a tenth of its CPU per request (bench/README.md, the CPU budget). A
    process killed outright loses at most the last `flush_seconds` of info lines."""

    def __init__(self, stream: TextIO, flush_seconds: float = 0.1) -> None:
        super().__init__(stream)
        self.flush_seconds = flush_seconds
        self._waiting = False
        threading.Thread(target=self._flush_now_and_then, name="log-flush", daemon=True).start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
            if record.levelno >= logging.WARNING:
                self.flush()
            else:
                self._waiting = True
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        self._waiting = False
        super().flush()

    def _flush_now_and_then(self) -> None:
        while True:
            time.sleep(self.flush_seconds)
            if self._waiting:
                with self.lock:  # type: ignore[union-attr]  # set by Handler.createLock
                    self.flush()


def _stderr_unbuffered_by_line() -> TextIO:
    """Standard error with a buffer of its own: Python's is flushed at every newline."""
    raw = io.FileIO(2, "w", closefd=False)
    return io.TextIOWrapper(
        io.BufferedWriter(raw, buffer_size=1 << 16), encoding="utf-8", errors="backslashreplace"
    )


def configure_logging(service: str, level: str = "INFO") -> None:
    # What the JSON line never shows, not worked out for each record (the caller's file and
    # line, thread and process): half the cost of an access log line (Logging HOWTO,
    # "Optimization").
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = BufferedStreamHandler(_stderr_unbuffered_by_line())
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log duplicates ours; its error log goes through the root handler.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
