"""The API as a real HTTP server on 127.0.0.1, in a thread with its own event loop, so a
browser can load the page and keep cookies the way it would in production."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 15


class LiveServer:
    def __init__(self, app: FastAPI, port: int = 0) -> None:
        # Bound before uvicorn starts: the port is known and cannot be taken meanwhile.
        # `port`: one chosen earlier, when the app's settings must name its own URL.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", port))
        port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", ws="none", server_header=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    async def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive():
                self._socket.close()
                raise RuntimeError("the API server stopped during startup; see its log")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the API server did not start in {START_TIMEOUT_SECONDS}s")
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT_SECONDS)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError("the API server did not stop")
