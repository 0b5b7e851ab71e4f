"""A progress watcher that writes down what it is told, for tests of the progress reports."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RecordingWatcher:
    begun: list[tuple[str, int | None]] = field(default_factory=list)
    advanced: list[int] = field(default_factory=list)
    ended: int = 0

    def begin(self, label: str, total: int | None) -> None:
        self.begun.append((label, total))

    def advance(self, done: int) -> None:
        self.advanced.append(done)

    def end(self) -> None:
        self.ended += 1
