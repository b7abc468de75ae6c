"""Measuring a child process for the benchmark: wall and CPU seconds, the peak RSS of its process
tree, the peak size of a spill folder while it runs, and its progress lines echoed as it goes;
and the disk a pipeline home uses when it is done.

A failed or stopped child raises ``MeasuredFailure``, which carries what was measured up to
then (``partial``: wall seconds, peak RSS and spill so far, the last progress line), so the
benchmark records the failure and goes on (``run_benchmark.py``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil

POLL_SECONDS = 0.05
# Summing a spill folder is a directory walk: often enough to catch a peak of a step that
# spills for a few seconds, rarely enough to cost nothing.
SPILL_POLL_SECONDS = 0.5
# Lines of a child's output echoed as they come: the CLI's progress lines (run_progress.py),
# its memory budget and the floor's phases.
PROGRESS_PREFIXES = ("lake:", "analytics:", "floor:", "DuckDB budget")


class MeasuredFailure(RuntimeError):
    """A child that failed or was stopped; ``partial`` is what was measured until then."""

    def __init__(self, message: str, partial: dict):
        super().__init__(message)
        self.partial = partial


class RssLimitExceeded(MeasuredFailure):
    """The child's process tree passed ``max_rss_mb`` and was stopped."""


def folder_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (0 when it does not exist); files that vanish while
    it is walked (DuckDB removes spill files as it goes) are skipped."""
    total = 0
    try:
        entries = list(os.scandir(path))
    except OSError:
        return 0
    for entry in entries:
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                total += folder_bytes(Path(entry.path))
            else:
                total += entry.stat(follow_symlinks=False).st_size
    return total


def mb(n_bytes: int) -> float:
    return round(n_bytes / 2**20, 1)


def _tree_rss(proc: psutil.Process) -> int:
    rss = 0
    with contextlib.suppress(psutil.Error):
        for p in [proc, *proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                rss += p.memory_info().rss
    return rss


class _Echo:
    """Reads a log file as it grows and prints its progress lines, indented."""

    def __init__(self, log: Path | None, say: Callable[[str], None] | None):
        self.log, self.say, self.offset, self.last = log, say, 0, None

    def poll(self) -> None:
        if self.log is None or not self.log.exists():
            return
        with self.log.open("rb") as fh:
            fh.seek(self.offset)
            chunk = fh.read()
        # Only whole lines; a line being written is read at the next poll.
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        for line in chunk[:end].decode("utf-8", "replace").splitlines():
            line = line.strip("\r ")
            if line.startswith(PROGRESS_PREFIXES):
                self.last = line
                if self.say:
                    self.say(f"   | {line}")


def run_measured(
    cmd: list[str],
    env: dict[str, str] | None = None,
    log: Path | None = None,
    spill_dir: Path | None = None,
    max_rss_mb: int | None = None,
    say: Callable[[str], None] | None = print,
) -> dict:
    """Run ``cmd``: wall seconds, CPU seconds (user + sys of it and its children), peak RSS of its
    process tree (MB, polled every 50 ms), the peak size of ``spill_dir`` (MB) and the last
    progress line of its output. With ``max_rss_mb`` the tree is killed when its RSS passes it,
    so a benchmark on a shared machine cannot push others into the OOM killer."""
    before = os.times()
    started = time.perf_counter()
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    echo = _Echo(log, say)
    peak = peak_spill = 0
    next_spill = next_echo = 0.0

    def partial() -> dict:
        after = os.times()
        return {
            "wall_seconds": round(time.perf_counter() - started, 2),
            "cpu_seconds": round(
                (after.children_user - before.children_user)
                + (after.children_system - before.children_system),
                2,
            ),
            "peak_rss_mb": peak >> 20,
            "peak_spill_mb": mb(peak_spill),
            "last_progress": echo.last,
        }

    try:
        proc = psutil.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            peak = max(peak, _tree_rss(proc))
            now = time.perf_counter()
            if spill_dir is not None and now >= next_spill:
                peak_spill = max(peak_spill, folder_bytes(spill_dir))
                next_spill = now + SPILL_POLL_SECONDS
            if now >= next_echo:
                echo.poll()
                next_echo = now + 1.0
            if max_rss_mb and peak >> 20 > max_rss_mb:
                for p in [*proc.children(recursive=True), proc]:
                    with contextlib.suppress(psutil.Error):
                        p.kill()
                proc.wait()
                raise RssLimitExceeded(
                    f"{' '.join(cmd[:4])} ...: RSS {peak >> 20} MB passed {max_rss_mb} MB after "
                    f"{time.perf_counter() - started:.0f} s",
                    partial(),
                )
            time.sleep(POLL_SECONDS)
        code = proc.wait()
    finally:
        if log:
            out.close()
    echo.poll()
    measured = partial()
    if code != 0:
        tail = log.read_text(errors="replace")[-3000:] if log else ""
        raise MeasuredFailure(f"{' '.join(cmd[:4])} ... exited with {code}\n{tail}", measured)
    return measured


def home_disk(home: Path) -> dict:
    """MB of a pipeline home's parts when a run is done: the staging cache, the lake by layer
    (and in all) and the warehouse file. The spill folder's peak is measured while it runs."""
    from goodpulse_dagster.lake_layout import default_warehouse, lake_dir, staging_dir

    lake = lake_dir(home)
    layers = {}
    if lake.is_dir():
        layers = {p.name: mb(folder_bytes(p)) for p in sorted(lake.iterdir()) if p.is_dir()}
    warehouse = default_warehouse(home)
    return {
        "staging_mb": mb(folder_bytes(staging_dir(home))),
        "lake_mb": mb(folder_bytes(lake)),
        "lake_by_layer_mb": layers,
        "warehouse_mb": mb(warehouse.stat().st_size) if warehouse.exists() else 0.0,
    }
