"""The request body size limit, answered in problem+json like every other error.
(FastAPI's own limit answers outside the app's exception handlers, in another shape.)"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth_api.errors import PayloadTooLarge
from auth_api.http.problem import render


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            # The server already holds the body to the declared length.
            if not declared.isdigit() or int(declared) > self.max_bytes:
                await self._reject(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        buffered = await self._read_bounded(receive)
        if buffered is None:
            await self._reject(scope, receive, send)
            return
        await self.app(scope, _replay(buffered, receive), send)

    async def _read_bounded(self, receive: Receive) -> list[Message] | None:
        """A chunked body, read whole unless it passes the limit (then None)."""
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                return None
            if not message.get("more_body", False):
                return messages

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = PayloadTooLarge(f"The request body must not exceed {self.max_bytes} bytes.")
        response = render(error)
        response.headers["Connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
