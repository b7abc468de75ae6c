"""Progress of long runs: the wording and arithmetic (run_progress.py), the terminal and plain
displays, and a real ``goodpulse demo`` whose stderr is not a terminal."""

from __future__ import annotations

import io
import re
import warnings

from dagster import BetaWarning, DagsterEventType, DagsterInstance

from goodpulse_dagster import cli, memory_budget
from goodpulse_dagster.run_progress import (
    PhaseProgress,
    ProgressDisplay,
    bar,
    format_duration,
    progress_line,
    seconds_left,
)

warnings.filterwarnings("ignore", category=BetaWarning)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_durations():
    assert format_duration(42) == "42s"
    assert format_duration(72) == "1m12s"
    assert format_duration(90) == "1m30s"
    assert format_duration(3725) == "1h02m"  # 1 h 2 min 5 s


def test_the_estimate_is_elapsed_over_done_times_what_is_left():
    # 3 of 12 quarters in 30 s: 10 s a quarter, 9 to go.
    assert seconds_left(30, 3, 12) == 90
    assert seconds_left(30, 0, 12) is None
    line = progress_line("lake", ["quarters 3/12"], 3 / 12, 30)
    assert line == "lake: quarters 3/12, 25% done, elapsed 30s, ~1m30s left"
    # Nothing done yet: no estimate; all done: none needed.
    assert progress_line("lake", ["steps 0/9"], 0, 4) == "lake: steps 0/9, 0% done, elapsed 4s"
    assert progress_line("x", [], 1.0, 65) == "x: 100% done, elapsed 1m05s"


def test_a_lake_phase_of_three_runs_counts_a_run_s_quarters_by_its_steps():
    clock = Clock()
    out = io.StringIO()
    lake = PhaseProgress("lake", ProgressDisplay(out, interval=0, clock=clock), 12, 3, clock)
    lake.start_run(4)
    clock.now = 20
    lake.step(40, 40)
    lake.end_run()
    lake.start_run(4)
    clock.now = 60
    lake.step(20, 40)
    # (4 quarters ended + 4 x 20/40) / 12 = 6/12; 60 s / 0.5 * 0.5 = 60 s left.
    assert lake.fraction() == 0.5
    assert out.getvalue().splitlines()[-1] == (
        "lake: quarters 4/12, steps 20/40 of run 2/3, 50% done, elapsed 1m00s, ~1m00s left"
    )
    lake.step(40, 40)
    lake.end_run()
    lake.start_run(4)
    clock.now = 100
    lake.step(10, 40)
    # (8 + 4 x 1/4) / 12 = 9/12 = 75%; 100 s / 0.75 * 0.25 = 33.3 s left.
    assert out.getvalue().splitlines()[-1] == (
        "lake: quarters 8/12, steps 10/40 of run 3/3, 75% done, elapsed 1m40s, ~33s left"
    )


def test_an_analytics_phase_counts_steps():
    clock = Clock()
    out = io.StringIO()
    phase = PhaseProgress("analytics", ProgressDisplay(out, interval=0, clock=clock), clock=clock)
    phase.start_run()
    clock.now = 10
    phase.step(10, 30)
    phase.end_run()
    phase.finish()
    assert out.getvalue().splitlines() == [
        "analytics: steps 10/30, 33% done, elapsed 10s, ~20s left",
        # A run that ended with steps not done (failed upstream): its phase is over all the same.
        "analytics: steps 10/30, 100% done, elapsed 10s",
    ]


def test_plain_lines_come_at_most_every_interval_and_the_last_always():
    clock = Clock()
    out = io.StringIO()
    display = ProgressDisplay(out, interval=5, clock=clock)
    for now, text in [(0, "a"), (2, "b"), (4.9, "c"), (5, "d"), (7, "e")]:
        clock.now = now
        display.show(text, 0.5)
    clock.now = 8
    display.finish("last")
    assert out.getvalue() == "a\nd\nlast\n"


def test_a_terminal_gets_one_line_redrawn_behind_a_bar():
    out = Terminal()
    display = ProgressDisplay(out, interval=5)
    display.show("lake: steps 1/4, 25% done, elapsed 1s, ~3s left", 0.25)
    display.show("lake: steps 2/4, 50% done", 0.5)
    display.finish("lake: steps 4/4, 100% done, elapsed 4s")
    first = "[#####---------------] lake: steps 1/4, 25% done, elapsed 1s, ~3s left"
    second = "[##########----------] lake: steps 2/4, 50% done"
    assert out.getvalue() == (
        "\r" + first
        # Padded with spaces to the length of the line it draws over.
        + "\r" + second.ljust(len(first))
        + "\r" + "[####################] lake: steps 4/4, 100% done, elapsed 4s".ljust(len(second))
        + "\n"
    )  # fmt: skip
    assert bar(0) == "[--------------------]" and bar(1.2) == "[####################]"


# --- A real run ----------------------------------------------------------------------------------

_PLAIN_LINE = re.compile(
    r"(lake: quarters \d+/\d+, |analytics: )steps \d+/\d+, \d+% done, elapsed \w+(, ~\w+ left)?"
)


def test_goodpulse_demo_prints_progress_lines_when_stderr_is_not_a_terminal(
    tmp_path, monkeypatch, capsys
):
    instance = DagsterInstance.ephemeral()
    monkeypatch.setattr(cli, "_instance", lambda: instance)
    cli.main(["demo", "--orders", "300", "--home", str(tmp_path)])
    out, err = capsys.readouterr()  # capsys's stderr is no terminal
    assert memory_budget.in_force().describe() in out.splitlines()
    [quarters] = re.findall(r"bronze \+ silver: (\d+) quarters", out)

    runs = instance.get_run_records()
    steps = {}
    for record in runs:
        run_id = record.dagster_run.run_id
        finished = instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_SUCCESS)
        steps[record.dagster_run.job_name] = len(finished.records)
    lines = err.splitlines()
    assert "\r" not in err
    progress = [line for line in lines if line.startswith(("lake:", "analytics:"))]
    assert progress and all(_PLAIN_LINE.fullmatch(line) for line in progress), progress
    # Each phase starts with its first step and ends with every step of its run done.
    lake = [line for line in progress if line.startswith("lake:")]
    assert lake[0].startswith(f"lake: quarters 0/{quarters}, steps 1/{steps['lake_job']}, ")
    assert lake[-1].startswith(
        f"lake: quarters {quarters}/{quarters}, steps {steps['lake_job']}/{steps['lake_job']}, "
        "100% done"
    )
    done = steps["analytics_job"]
    assert progress[-1].startswith(f"analytics: steps {done}/{done}, 100% done")

    # The runs show the budget in their tags, and log it once, with a progress line per step.
    for record in runs:
        run = record.dagster_run
        assert run.tags[memory_budget.MEMORY_LIMIT_TAG] == memory_budget.in_force().memory_limit
        messages = [e.message for e in instance.all_logs(run.run_id)]
        assert messages.count(memory_budget.in_force().describe()) == 1
        logged = [m for m in messages if m.startswith(f"{run.job_name}: steps ")]
        assert len(logged) == steps[run.job_name]
        assert logged[-1].startswith(
            f"{run.job_name}: steps {steps[run.job_name]}/{steps[run.job_name]} ("
        )
