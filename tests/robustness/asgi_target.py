"""The app under fuzzing, behind a stable ASGI entry point.

Schemathesis binds a schema to one ASGI app when the test module is collected, but each
test builds its own app on the real servers (own database, key prefix, topic prefix).
`AppUnderTest` is the app the schema is bound to: it forwards every HTTP request to the
app the running test installed. Lifespans stay with the installed apps: the forwarder
answers its own at once, so loading the schema at collection time connects to nothing."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class AppUnderTest:
    def __init__(self, target: ASGIApp) -> None:
        self.target = target

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._trivial_lifespan(receive, send)
            return
        await self.target(scope, receive, send)

    @staticmethod
    async def _trivial_lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
