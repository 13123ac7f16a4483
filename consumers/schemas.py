"""The event JSON Schemas of schemas/events/, loaded once and applied to envelopes."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas" / "events"
SUFFIX = ".schema.json"


class EventSchemas:
    """One validator per event type, named after its file: `<type>.schema.json`."""

    def __init__(self, directory: Path = SCHEMA_DIR) -> None:
        self._validators: dict[str, Draft202012Validator] = {}
        for path in sorted(directory.glob(f"*{SUFFIX}")):
            event_type = path.name.removesuffix(SUFFIX)
            schema = json.loads(path.read_text())
            if schema["properties"]["type"].get("const") != event_type:
                raise ValueError(f"{path.name}: 'type' must be the constant {event_type!r}")
            Draft202012Validator.check_schema(schema)
            self._validators[event_type] = Draft202012Validator(
                schema, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
        if not self._validators:
            raise FileNotFoundError(f"no *{SUFFIX} under {directory}")

    @property
    def event_types(self) -> list[str]:
        return list(self._validators)

    def problems(self, envelope: object) -> list[str]:
        """Why `envelope` is not a valid auth event; empty when it is one."""
        if not isinstance(envelope, dict):
            return ["the envelope is not a JSON object"]
        event_type = envelope.get("type")
        validator = self._validators.get(event_type) if isinstance(event_type, str) else None
        if validator is None:
            return [f"unknown event type {event_type!r}"]
        return [
            f"{'/'.join(map(str, error.absolute_path)) or '(envelope)'}: {error.message}"
            for error in validator.iter_errors(envelope)
        ]
