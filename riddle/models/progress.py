"""A small progress bar for training and solving (stderr; a line per update when not a terminal)."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, label: str, stream=None, width: int = 24, enabled: bool = True):
        self.total, self.label, self.width = max(1, total), label, width
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.perf_counter()
        self.done = 0
        self._last_line = -1.0

    def update(self, n: int = 1, note: str = "") -> None:
        self.done = min(self.total, self.done + n)
        if not self.enabled:
            return
        now = time.perf_counter()
        final = self.done == self.total
        if not self.tty and not final and now - self._last_line < 10:
            return                                           # logs: a line every 10 s, not every step
        self._last_line = now
        filled = int(self.width * self.done / self.total)
        bar = "━" * filled + "╺" + " " * (self.width - filled - 1) if not final else "━" * self.width
        line = f"{self.label:<22} {bar} {self.done}/{self.total} · {now - self.start:5.1f} s {note}"
        if self.tty:
            self.stream.write("\r\033[K" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self, note: str = "") -> float:
        if self.done < self.total:
            self.update(self.total - self.done, note)
        return time.perf_counter() - self.start
