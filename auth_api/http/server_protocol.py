"""uvicorn's httptools protocol with a bound on the request head (request line and
headers). httptools buffers a header whole, however long, before handing it over, so
without a bound one request can make a worker copy and hold gigabytes. uvicorn applies
its head limit, `h11_max_incomplete_event_size`, only to its h11 protocol; this class
applies the same setting to httptools and answers 431 (RFC 6585), as problem+json."""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from auth_api.errors import HeadersTooLarge
from auth_api.http.problem import MEDIA_TYPE, error_body

DEFAULT_HEAD_LIMIT = 16 * 1024
# Per header: its name, ": " and "\r\n"; the request line is counted by its URL.
HEADER_OVERHEAD = 4


def head_too_large_response() -> bytes:
    body = json.dumps(error_body(HeadersTooLarge())).encode()
    head = (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        b"content-type: " + MEDIA_TYPE.encode() + b"\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n"
        b"x-content-type-options: nosniff\r\n"
        b"connection: close\r\n\r\n"
    )
    return head + body


# The same bytes for every refusal: built once, not per oversized request.
HEAD_TOO_LARGE_RESPONSE = head_too_large_response()


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_limit = self.config.h11_max_incomplete_event_size or DEFAULT_HEAD_LIMIT
        self.reading_head = False
        self.head_bytes = 0  # of the chunks that arrived after the head began
        self.refused = False

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        continuing_head = self.reading_head
        super().data_received(data)
        if continuing_head and self.reading_head and not self.refused:
            # The head was incomplete before this chunk and still is: every byte of it
            # belongs to the head. This bounds what httptools buffers, to the limit plus
            # the chunk in which the head began.
            self.head_bytes += len(data)
            if self.head_bytes > self.head_limit:
                self.refuse_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.reading_head = True
        self.head_bytes = 0

    def on_headers_complete(self) -> None:
        self.reading_head = False
        if self.refused or self.parsed_head_size() > self.head_limit:
            self.refuse_head()  # whole, but too large: the app never sees it
            return
        super().on_headers_complete()

    def parsed_head_size(self) -> int:
        headers = sum(len(name) + len(value) for name, value in self.headers)
        return len(self.url) + headers + HEADER_OVERHEAD * len(self.headers)

    # httptools goes on parsing the chunk after a refusal; without a request cycle there
    # is nothing to hand its body to.
    def on_body(self, body: bytes) -> None:
        if not self.refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self.refused:
            super().on_message_complete()

    def refuse_head(self) -> None:
        self.refused = True
        if not self.transport.is_closing():
            self.transport.write(HEAD_TOO_LARGE_RESPONSE)
            self.transport.close()
