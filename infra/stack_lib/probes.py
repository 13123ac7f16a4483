"""Minimal wire-protocol health probes (stdlib only).

Each probe sends one real request and checks the answer, so "healthy" means
the server actually serves clients, not merely that its port is open.
"""

from __future__ import annotations

import socket
import struct

_TIMEOUT = 2.0


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=_TIMEOUT)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    buf = bytearray()
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            raise ConnectionError("connection closed mid-reply")
        buf += chunk
    return bytes(buf)


def redis_ping(port: int) -> bool:
    """Inline PING; a loading or misconfigured server answers with an error."""
    try:
        with _connect(port) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


# --- MongoDB: OP_MSG {ping: 1, $db: "admin"} -------------------------------

_OP_MSG = 2013
# Value sizes of the fixed-width BSON types we may meet in a reply.
_BSON_FIXED = {0x01: 8, 0x07: 12, 0x08: 1, 0x09: 8, 0x0A: 0, 0x10: 4, 0x11: 8, 0x12: 8, 0x13: 16}


def _bson_command(name: str) -> bytes:
    """{<name>: 1, $db: "admin"}"""
    body = b"\x10" + name.encode() + b"\x00" + struct.pack("<i", 1)
    body += b"\x02$db\x00" + struct.pack("<i", 6) + b"admin\x00"
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def _bson_top_level(doc: bytes) -> dict[str, object]:
    """Decode the numeric and boolean top-level fields of a BSON document."""
    fields: dict[str, object] = {}
    pos, end = 4, len(doc) - 1
    while pos < end:
        kind = doc[pos]
        name_end = doc.index(b"\x00", pos + 1)
        name = doc[pos + 1 : name_end].decode()
        pos = name_end + 1
        if kind in _BSON_FIXED:
            size = _BSON_FIXED[kind]
        elif kind in (0x02, 0x0D, 0x0E):  # string-like: int32 length + bytes
            size = 4 + struct.unpack_from("<i", doc, pos)[0]
        elif kind in (0x03, 0x04):  # document/array: length includes itself
            size = struct.unpack_from("<i", doc, pos)[0]
        elif kind == 0x05:  # binary: int32 length + subtype byte + bytes
            size = 5 + struct.unpack_from("<i", doc, pos)[0]
        else:
            raise ValueError(f"unsupported BSON type 0x{kind:02x}")
        if kind == 0x01:
            fields[name] = struct.unpack_from("<d", doc, pos)[0]
        elif kind == 0x10:
            fields[name] = struct.unpack_from("<i", doc, pos)[0]
        elif kind == 0x12:
            fields[name] = struct.unpack_from("<q", doc, pos)[0]
        elif kind == 0x08:
            fields[name] = doc[pos] == 1
        pos += size
    return fields


def mongo_ping(port: int) -> bool:
    """`ping` over OP_MSG: what MongoDB and mongo-java-server both answer (the latter
    knows no `hello`)."""
    doc = _bson_command("ping")
    # header: length, requestID, responseTo, opCode; then flagBits, section 0
    payload = struct.pack("<I", 0) + b"\x00" + doc
    msg = struct.pack("<iiii", 16 + len(payload), 1, 0, _OP_MSG) + payload
    try:
        with _connect(port) as sock:
            sock.sendall(msg)
            (length,) = struct.unpack("<i", _recv_exact(sock, 4))
            reply = _recv_exact(sock, length - 4)
    except OSError:
        return False
    _request_id, response_to, op_code = struct.unpack_from("<iii", reply, 0)
    if op_code != _OP_MSG or response_to != 1 or reply[16] != 0:
        return False
    try:
        fields = _bson_top_level(reply[17:])
    except (ValueError, struct.error):
        return False
    return fields.get("ok") in (1, 1.0, True)


# --- Kafka: Metadata v4 --------------------------------------------------------

_METADATA_API_KEY = 3
_METADATA_VERSION = 4  # non-flexible encoding, valid on both 3.x and 4.x brokers


def _kafka_string(value: str) -> bytes:
    raw = value.encode()
    return struct.pack(">h", len(raw)) + raw


def kafka_broker_listed(port: int) -> bool:
    """True when the broker answers Metadata and lists itself on `port`.

    The broker only opens its client listener once it has joined the KRaft
    quorum, and it lists itself only after registering, so this is a good
    sign that produce/consume will work.
    """
    correlation_id = 7
    header = struct.pack(">hhi", _METADATA_API_KEY, _METADATA_VERSION, correlation_id)
    header += _kafka_string("auth-stack-probe")
    body = struct.pack(">ib", 0, 0)  # no topics, no auto-creation
    request = header + body
    try:
        with _connect(port) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            (length,) = struct.unpack(">i", _recv_exact(sock, 4))
            reply = _recv_exact(sock, length)
    except OSError:
        return False
    try:
        got_id, _throttle, broker_count = struct.unpack_from(">iii", reply, 0)
        pos = 12
        for _ in range(broker_count):
            _node_id, host_len = struct.unpack_from(">ih", reply, pos)
            pos += 6 + host_len
            (broker_port, rack_len) = struct.unpack_from(">ih", reply, pos)
            pos += 6 + max(rack_len, 0)
            if broker_port == port:
                return bool(got_id == correlation_id)
    except struct.error:
        return False
    return False


def smtp_greets(port: int) -> bool:
    """The server's greeting is a 220: it takes mail."""
    try:
        with _connect(port) as sock:
            return sock.recv(512).startswith(b"220")
    except OSError:
        return False


def http_ok(port: int, path: str) -> bool:
    """GET `path` answers 200."""
    try:
        with _connect(port) as sock:
            sock.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
            return sock.recv(64).split(b"\r\n", 1)[0].split(b" ")[1:2] == [b"200"]
    except (OSError, IndexError):
        return False
