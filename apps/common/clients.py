"""Clients that keep calling a server from background threads until told to stop: the demo's paced
traffic and the tests' load share this lifecycle."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self

import httpx


class Clients:
    """`count` threads, each with its own HTTP client, calling `send(client)` until the context exits
    (`send` returns False to stop its thread early)."""

    def __init__(self, count: int, name: str) -> None:
        self.stopped = threading.Event()
        self._threads = [threading.Thread(target=self._loop, daemon=True, name=f"{name}-{i}") for i in range(count)]

    def send(self, client: httpx.Client) -> bool:
        raise NotImplementedError

    def _loop(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stopped.is_set() and self.send(client):
                pass

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stopped.set()
        for thread in self._threads:
            thread.join(15)
