"""Frames on the worker's channels: a length-prefixed JSON header and a length-prefixed
safetensors payload. Nothing in a frame can execute code when read."""

from __future__ import annotations

import json
import os
import struct
from typing import Any, Callable


LENGTH = struct.Struct(">Q")




def frame(header: dict[str, Any], payload: bytes = b"") -> bytes:
    head = json.dumps(header, allow_nan=True).encode()
    return LENGTH.pack(len(head)) + head + LENGTH.pack(len(payload)) + payload


def write_frame(fd: int, header: dict[str, Any], payload: bytes = b"") -> None:
    write_all(fd, frame(header, payload))


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_exact(fd: int, n: int) -> bytes:
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> tuple[dict[str, Any], bytes]:
    (hlen,) = LENGTH.unpack(_read_exact(fd, LENGTH.size))
    header = json.loads(_read_exact(fd, hlen))
    (plen,) = LENGTH.unpack(_read_exact(fd, LENGTH.size))
    return header, _read_exact(fd, plen) if plen else b""


def bound_framing() -> tuple[Callable[[int], tuple[dict[str, Any], bytes]], Callable[..., None],
                             Callable[..., bytes], Callable[[int, bytes], None]]:
    """``read_frame`` and ``write_frame`` made of what is bound now (``os.read``, ``os.write``,
    ``json``, ``struct``), for a request loop that must not look anything up later; and
    ``write_frame``'s two halves, ``framed`` (header and payload to bytes) and ``send``."""
    os_read, os_write, dumps, loads = os.read, os.write, json.dumps, json.loads
    pack, unpack, size, join, view_of = LENGTH.pack, LENGTH.unpack, LENGTH.size, b"".join, memoryview

    def exact(fd: int, n: int) -> bytes:
        chunks = []
        while n:
            chunk = os_read(fd, min(n, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            n -= len(chunk)
        return join(chunks)

    def read(fd: int) -> tuple[dict[str, Any], bytes]:
        (hlen,) = unpack(exact(fd, size))
        header = loads(exact(fd, hlen))
        (plen,) = unpack(exact(fd, size))
        return header, exact(fd, plen) if plen else b""

    def framed(header: dict[str, Any], payload: bytes = b"") -> bytes:
        head = dumps(header, allow_nan=True).encode()
        return join([pack(len(head)), head, pack(len(payload)), payload])

    def send(fd: int, data: bytes) -> None:
        view = view_of(data)
        while view:
            n = os_write(fd, view)
            view = view[n:]

    def write(fd: int, header: dict[str, Any], payload: bytes = b"") -> None:
        send(fd, framed(header, payload))

    return read, write, framed, send
