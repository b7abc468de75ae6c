"""How far a long run has got, in words: what is done of all, the time elapsed, an estimate of
the time left, and how the CLI shows it (a bar redrawn in a terminal, plain lines in a log).

The estimate assumes the rest goes at the pace so far: elapsed / done * (all - done). Steps and
quarters take unequal times, so it is a rough guide, and it is worded "~... left".
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

# Not a TTY (a CI log, a file): at most one progress line this often, so a long run's log stays
# readable. The first and the last line of a phase are always printed.
PLAIN_INTERVAL_SECONDS = 5.0
BAR_WIDTH = 20


def format_duration(seconds: float) -> str:
    """'42s', '1m12s', '2h05m'."""
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def seconds_left(elapsed: float, done: float, total: float) -> float | None:
    """The time the rest takes at the pace so far; None before anything is done."""
    if done <= 0:
        return None
    return elapsed / done * max(total - done, 0)


def progress_line(label: str, counts: Sequence[str], fraction: float, elapsed: float) -> str:
    """'lake: quarters 5/12, steps 14/40, 42% done, elapsed 1m12s, ~1m40s left'.

    ``fraction`` is the share of the work done (0..1), which the estimate extrapolates."""
    parts = [*counts, f"{fraction:.0%} done", f"elapsed {format_duration(elapsed)}"]
    left = seconds_left(elapsed, fraction, 1.0)
    if left is not None and fraction < 1:
        parts.append(f"~{format_duration(left)} left")
    return f"{label}: " + ", ".join(parts)


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """'[#####---------------]' for a quarter done."""
    filled = round(min(max(fraction, 0.0), 1.0) * width)
    return "[" + "#" * filled + "-" * (width - filled) + "]"


class ProgressDisplay:
    """Progress lines on ``stream`` (stderr: stdout keeps the results). In a terminal one line is
    redrawn in place behind a bar; elsewhere each update is a plain line, at most one every
    ``interval`` seconds."""

    def __init__(
        self,
        stream: TextIO | None = None,
        interval: float = PLAIN_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._interval = interval
        self._clock = clock
        self._last_printed: float | None = None
        self._drawn = 0  # characters of the line drawn in place (terminal)

    def show(self, line: str, fraction: float) -> None:
        if self._tty:
            self._draw(f"{bar(fraction)} {line}")
            return
        now = self._clock()
        if self._last_printed is None or now - self._last_printed >= self._interval:
            self._print(line)

    def finish(self, line: str, fraction: float = 1.0) -> None:
        """The last line of a phase: always shown, and the terminal line is ended."""
        if self._tty:
            self._draw(f"{bar(fraction)} {line}")
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = 0
        else:
            self._print(line)
        self._last_printed = None

    def _draw(self, text: str) -> None:
        # Spaces wipe the rest of a longer line drawn before.
        self._stream.write("\r" + text.ljust(self._drawn))
        self._stream.flush()
        self._drawn = len(text)

    def _print(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()
        self._last_printed = self._clock()


class PhaseProgress:
    """One phase of ``goodpulse run`` (the lake runs, or the analytics run) on a display.

    The lake phase runs ranges of quarters one after another, and each step of a run covers all
    of its quarters at once: a run's quarters count as done in proportion to its steps done, so
    "52% done" moves with every step, and a range's quarters are all done when its run ends."""

    def __init__(
        self,
        label: str,
        display: ProgressDisplay,
        quarters: int | None = None,
        runs: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._label = label
        self._display = display
        self._quarters = quarters
        self._runs = runs
        self._clock = clock
        self._started = clock()
        self._run = 0  # runs started
        self._in_run = False
        self._runs_ended = 0
        self._quarters_done = 0  # quarters of the runs that have ended
        self._run_quarters = 0  # quarters of the current run
        self._steps = (0, 0)  # (done, all) of the current (or last) run

    def start_run(self, quarters: int = 0) -> None:
        """A run over ``quarters`` of the phase's quarters is starting."""
        self._run += 1
        self._in_run = True
        self._run_quarters = quarters
        self._steps = (0, 0)

    def step(self, done: int, total: int) -> None:
        """``done`` of the current run's ``total`` steps have finished."""
        self._steps = (done, total)
        self._display.show(self.line(), self.fraction())

    def end_run(self) -> None:
        self._in_run = False
        self._runs_ended += 1
        self._quarters_done += self._run_quarters

    def finish(self) -> None:
        self._display.finish(self.line(), self.fraction())

    def fraction(self) -> float:
        """The share of the phase done: quarters (or runs) ended, plus the current run's share
        of them in proportion to its steps done."""
        done, total = self._steps
        in_run = done / total if self._in_run and total else 0.0
        if self._quarters:
            return min((self._quarters_done + self._run_quarters * in_run) / self._quarters, 1.0)
        return min((self._runs_ended + in_run) / self._runs, 1.0)

    def line(self) -> str:
        done, total = self._steps
        counts = []
        if self._quarters:
            counts.append(f"quarters {self._quarters_done}/{self._quarters}")
        steps = f"steps {done}/{total}"
        if self._runs > 1:
            steps += f" of run {self._run}/{self._runs}"
        counts.append(steps)
        return progress_line(self._label, counts, self.fraction(), self._clock() - self._started)
