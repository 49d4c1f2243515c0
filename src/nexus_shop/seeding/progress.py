"""Progress of a long seed: a bar on a terminal, a line per 10% elsewhere, or nothing."""

from __future__ import annotations

import time

from django.core.management.base import OutputWrapper

__all__ = ["Progress"]


class Progress:
    """A progress bar on a terminal; a line per ``STEP_PERCENT`` anywhere else; or nothing."""

    WIDTH = 30
    REDRAW_SECONDS = 0.1
    STEP_PERCENT = 10

    def __init__(self, stream: OutputWrapper, *, total: int, label: str, enabled: bool) -> None:
        self.stream = stream
        self.total = total
        self.label = label
        self.enabled = enabled and total > 0
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._last_step = 0

    def _write(self, text: str, *, ending: str) -> None:
        # Plain text: OutputWrapper would otherwise colour stderr as an error on a terminal.
        self.stream.write(text, style_func=_plain, ending=ending)
        self.stream.flush()

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        fraction = min(1.0, done / self.total)
        if self.tty:
            now = time.monotonic()
            if done < self.total and now - self._last_draw < self.REDRAW_SECONDS:
                return
            self._last_draw = now
            filled = round(self.WIDTH * fraction)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            self._write(
                f"\r{self.label} [{bar}] {fraction:4.0%} {done:,}/{self.total:,} {elapsed:.1f}s",
                ending="",
            )
            return
        step = int(fraction * 100) // self.STEP_PERCENT
        if step > self._last_step:
            self._last_step = step
            self._write(
                f"{self.label}: {done:,}/{self.total:,} ({fraction:.0%}) {elapsed:.1f}s",
                ending="\n",
            )

    def finish(self) -> None:
        if self.enabled and self.tty:
            self._write("", ending="\n")


def _plain(text: str) -> str:
    return text
