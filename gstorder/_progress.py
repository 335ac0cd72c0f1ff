"""Progress of long jobs: a tqdm bar with ETA on a terminal, plain log lines elsewhere (SLURM, nohup)."""

from __future__ import annotations

import sys
import time

from tqdm.auto import tqdm

#: Seconds between plain progress lines when stderr is not a terminal.
LOG_EVERY_S = 30.0


class Progress:
    """Frames done out of ``total``, shown as a bar or as log lines on stderr.

    ``show=None`` draws a bar on an interactive terminal and, elsewhere,
    writes a line such as ``gstorder kbar: 12/100 frames, 3.1 s/frame, ETA
    4.5 min`` every :data:`LOG_EVERY_S` seconds of a long job (short jobs stay
    silent); ``True`` always shows a bar, ``False`` nothing.
    """

    def __init__(self, *, total=None, desc=None, show=None, unit="frame"):
        self.total, self.desc, self.unit, self.done = total, desc, unit, 0
        self._bar = None
        self._log = False
        if show is True or (show is None and _interactive()):
            self._bar = tqdm(total=total, desc=desc, leave=False, unit=unit)
        elif show is None:
            self._log = True
            self._start = self._last = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self._log:
            now = time.perf_counter()
            if now - self._last >= LOG_EVERY_S:
                self._last = now
                print(self.line(now), file=sys.stderr, flush=True)

    def line(self, now: float) -> str:
        rate = (now - self._start) / max(self.done, 1)
        text = f"gstorder {self.desc}: {self.done}" + (f"/{self.total}" if self.total else "") + f" {self.unit}s, {rate:.3g} s/{self.unit}"
        if self.total:
            text += f", ETA {_duration(rate * (self.total - self.done))}"
        return text

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._log and self._last != self._start:
            print(self.line(time.perf_counter()) + " (done)", file=sys.stderr, flush=True)


def progress(iterable, *, total=None, desc=None, show=None):
    """Iterate over ``iterable`` with :class:`Progress` (one step per item)."""
    bar = Progress(total=total, desc=desc, show=show)
    try:
        for item in iterable:
            yield item
            bar.update()
    finally:
        bar.close()


def _interactive() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
