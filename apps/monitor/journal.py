"""The monitor's journal: every accepted batch of records and labels, appended to disk before the
request is answered, so a restart (a crash, `kill -9`, a rescheduled pod on its volume) rebuilds the
window and the labels instead of losing them.

Segments of JSON lines (`journal-<n>.jsonl`), one line per accepted batch:

    {"kind": "logs", "records": [...]}      records as accepted (the PredictionRecord contract)
    {"kind": "labels", "labels": [...]}     labels as accepted
    {"kind": "evaluated", "window": n}      a window was evaluated here (replay resumes the step)

A segment is closed at `segment_records` records and the oldest are deleted once the newer ones hold
`keep_records` (the window and the labels' memory): the journal stays bounded. A line cut short by a
crash mid-write is skipped on replay (its request was never answered, so its client retries it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson


@dataclass
class Journal:
    directory: Path
    keep_records: int
    segment_records: int = 10_000
    fsync: bool = False
    """Also survive a machine crash (each batch waits for the disk): off by default, a process crash loses nothing either way."""
    _segments: list[tuple[int, int]] = field(default_factory=list, init=False)
    """(segment number, records in it), oldest first."""
    _handle: Any = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for path in sorted(self.directory.glob("journal-*.jsonl"), key=_number):
            self._segments.append((_number(path), sum(_records(entry) for entry in _read(path))))

    def replay(self) -> Iterator[dict[str, Any]]:
        """Every entry still in the journal, oldest first."""
        for number, _ in list(self._segments):
            yield from _read(self._path(number))

    def append(self, entry: dict[str, Any]) -> None:
        line = orjson.dumps(entry) + b"\n"
        with self._lock:
            if not self._segments or self._segments[-1][1] >= self.segment_records:
                self._rotate()
            elif self._handle is None:  # reopened: go on appending to the newest segment
                path = self._path(self._segments[-1][0])
                torn = path.stat().st_size > 0 and path.read_bytes()[-1:] != b"\n"
                self._handle = path.open("ab")
                if torn:  # end the line a crash cut short, so the next entry starts clean
                    self._handle.write(b"\n")
            self._handle.write(line)
            self._handle.flush()
            if self.fsync:
                os.fsync(self._handle.fileno())
            number, count = self._segments[-1]
            self._segments[-1] = (number, count + _records(entry))

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def _rotate(self) -> None:
        if self._handle is not None:
            self._handle.close()
        number = self._segments[-1][0] + 1 if self._segments else 1
        self._segments.append((number, 0))
        self._handle = self._path(number).open("ab")
        # Oldest segments go once the newer ones (the new, empty one aside) hold what must be kept.
        while len(self._segments) > 2 and sum(c for _, c in self._segments[1:-1]) >= self.keep_records:
            old, _ = self._segments.pop(0)
            self._path(old).unlink(missing_ok=True)

    def _path(self, number: int) -> Path:
        return self.directory / f"journal-{number:08d}.jsonl"


def _number(path: Path) -> int:
    return int(path.stem.removeprefix("journal-"))


def _records(entry: dict[str, Any]) -> int:
    return len(entry.get("records") or entry.get("labels") or [])


def _read(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as handle:
        for line in handle:
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError:  # cut short by a crash mid-write
                continue
