"""JSON log lines: one object per line with timestamp, level, logger, message, the
request id while a request is handled, and the record's extra fields (the audit kind,
user id, ...). JSON encoding escapes CR, LF and quotes, so a value such as a crafted
email address cannot start a forged line; secrets are redacted before encoding."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

from auth_api.observability.redaction import redact
from auth_api.observability.request_id import current_request_id
from auth_api.settings import Settings
from quizauth_wire import rfc3339

FIELDS = ("levelname", "name", "message")
RENAMED = {"levelname": "level", "name": "logger"}
# Uvicorn repeats its message with terminal colour codes: noise in a JSON line.
DROPPED_FIELDS = ("color_message",)
# Uvicorn's own access log is replaced by auth_api.access (route template, request id).
QUIET_LOGGERS = {"uvicorn.access": "WARNING", "aiokafka": "WARNING", "pymongo": "WARNING"}


# A client library retrying a down server logs every attempt: aiokafka wrote about 130
# "Unable connect" lines a second during a broker outage. One line per template per
# interval says the same, and the count of the ones held back says how hard it tried.
REPEAT_LIMITED_LOGGERS = ("aiokafka",)
REPEAT_INTERVAL_SECONDS = 60.0


class RepeatLimiter(logging.Filter):
    """Passes the first record of each (logger, message template) of the noisy libraries,
    then at most one per interval, noting how many were held back in between."""

    def __init__(
        self,
        prefixes: tuple[str, ...] = REPEAT_LIMITED_LOGGERS,
        interval_seconds: float = REPEAT_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._prefixes = prefixes
        self._interval = interval_seconds
        self._clock = clock
        self._last: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self._prefixes):
            return True
        key = (record.name, str(record.msg))
        now = self._clock()
        passed_at, held = self._last.get(key, (float("-inf"), 0))
        if now - passed_at < self._interval:
            self._last[key] = (passed_at, held + 1)
            return False
        self._last[key] = (now, 0)
        if held:
            record.repeats_suppressed = held
        return True


class JsonLogFormatter(JsonFormatter):
    def __init__(self, static_fields: dict[str, Any] | None = None) -> None:
        super().__init__(
            list(FIELDS),
            rename_fields=RENAMED,
            static_fields=static_fields or {},
            json_ensure_ascii=True,
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["timestamp"] = rfc3339(datetime.fromtimestamp(record.created, tz=UTC))
        super().add_fields(log_data, record, message_dict)
        request_id = current_request_id()
        if request_id is not None:
            log_data.setdefault("request_id", request_id)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        for key in DROPPED_FIELDS:
            log_data.pop(key, None)
        redacted: dict[str, Any] = redact(log_data)
        return redacted


def json_log_handler(stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing JSON lines to `stream` (stderr by default); tests use a StringIO."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    handler.addFilter(RepeatLimiter())
    return handler


def static_fields(settings: Settings | None) -> dict[str, Any]:
    return {"env": settings.env.value} if settings is not None else {}


def logging_config(settings: Settings | None = None) -> dict[str, Any]:
    """A dictConfig for the whole process, passed to uvicorn as its log_config: uvicorn
    applies it before it logs anything, and again in each worker."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonLogFormatter, "static_fields": static_fields(settings)}},
        "filters": {"repeats": {"()": RepeatLimiter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["repeats"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            name: {"level": quiet, "handlers": [], "propagate": True}
            for name, quiet in QUIET_LOGGERS.items()
        },
    }
