"""A minimal keep-alive HTTP/1.1 client over asyncio streams. A general-purpose client
spends more CPU per request than the cheap endpoints cost the server, which would make
the load generator the bottleneck on a 2-core machine."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

NO_BODY_STATUSES = frozenset({204, 304})


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> Reply:
        """One request on the kept-alive connection; reconnects once it was closed."""
        if self._writer is None:
            await self._open()
        payload = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self._host}:{self._port}"]
        if token is not None:
            head.append(f"Authorization: Bearer {token}")
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        try:
            return await self._exchange(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        except (ConnectionError, asyncio.IncompleteReadError):
            await self.close()
            raise

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            # The server may have gone first; the socket is closed either way.
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self._host, self._port)

    async def _exchange(self, data: bytes) -> Reply:
        reader, writer = self._streams()
        writer.write(data)
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        headers = await self._read_headers()
        body = await self._read_body(status, headers)
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Reply(status, body)

    def _streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            raise ConnectionError("not connected")
        return self._reader, self._writer

    async def _read_headers(self) -> dict[str, str]:
        reader, _ = self._streams()
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return headers

    async def _read_body(self, status: int, headers: dict[str, str]) -> bytes:
        reader, _ = self._streams()
        if status in NO_BODY_STATUSES or 100 <= status < 200:
            return b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            return await self._read_chunked()
        return await reader.readexactly(int(headers.get("content-length", "0")))

    async def _read_chunked(self) -> bytes:
        reader, _ = self._streams()
        chunks: list[bytes] = []
        while size := int((await reader.readline()).split(b";")[0], 16):
            chunks.append(await reader.readexactly(size))
            await reader.readline()
        await reader.readline()  # the empty line after the last chunk
        return b"".join(chunks)
