"""Fixtures for the observability tests."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from auth_api.observability import json_log_handler
from tests.ops.support import CapturedLogs


@pytest.fixture
def json_logs() -> Iterator[CapturedLogs]:
    """Every log record of the process, at INFO and above, through the JSON formatter."""
    stream = io.StringIO()
    handler = json_log_handler(stream)
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield CapturedLogs(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
