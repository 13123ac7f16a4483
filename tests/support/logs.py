"""The log lines the process writes, captured for a test to read."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any


@dataclass
class CapturedLogs:
    stream: io.StringIO

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        """Every line, parsed: json.loads fails the test on a line that is not JSON."""
        return [json.loads(line) for line in self.text.splitlines()]

    def audit(self, kind: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("audit") == kind]
