"""ASGI pieces both HTTP apps use."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Pure ASGI middleware: refuse bodies over `max_bytes` with 413 - after reading (and discarding)
    what the client sends, so it gets the answer instead of a reset connection. The app sees only
    bodies within the limit (read here, at most `max_bytes` held, then handed over as one message).
    `on_refused(path)` counts each refusal."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        on_refused: Callable[[str], None] | None = None,
        drain_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_refused = on_refused
        self.drain_bytes = drain_bytes if drain_bytes is not None else max(64 * 1024 * 1024, 4 * max_bytes)
        """Most bytes read and thrown away before answering (a client sending more gets its 413 anyway)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((int(v) for k, v in scope.get("headers", []) if k == b"content-length" and v.isdigit()), None)
        if declared is not None and declared > self.max_bytes:
            await self._drain(receive, 0, more=True)
            await self._refuse(scope, send, declared)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client left: let the app see it
                await self.app(scope, replay(receive, [], message), send)
                return
            body = message.get("body", b"")
            size += len(body)
            more = bool(message.get("more_body"))
            if size > self.max_bytes:
                size = await self._drain(receive, size, more=more)
                await self._refuse(scope, send, size)
                return
            chunks.append(body)
        await self.app(scope, replay(receive, chunks, None), send)

    async def _drain(self, receive: Receive, seen: int, *, more: bool) -> int:
        """Read what is left of the body (up to drain_bytes), discarding it; the bytes seen in all."""
        while more and seen <= self.drain_bytes:
            message = await receive()
            if message["type"] != "http.request":
                break
            seen += len(message.get("body", b""))
            more = bool(message.get("more_body"))
        return seen

    async def _refuse(self, scope: Scope, send: Send, size: int) -> None:
        if self.on_refused is not None:
            self.on_refused(str(scope.get("path", "")))
        await send_json(
            send, 413, {"error": f"request body of {size} bytes exceeds the limit of {self.max_bytes} bytes"}
        )


async def send_json(send: Send, status: int, payload: Any) -> None:
    """Answer with `payload` as JSON, from inside ASGI middleware."""
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a receive() that hands it over again (for the app behind)."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), replay(receive, [], message)
        chunks.append(message.get("body", b""))
        more = bool(message.get("more_body"))
    return b"".join(chunks), replay(receive, chunks, None)


def replay(receive: Receive, chunks: list[bytes], first: Message | None) -> Receive:
    """A receive() that hands over the body read so far as one message, then is the server's again
    (which reports the client's disconnect)."""
    sent = False

    async def hand_over() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return (
                first if first is not None else {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            )
        return await receive()

    return hand_over
