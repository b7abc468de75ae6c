"""The DuckDB memory budget: how much memory and how many threads a database may use, and where
it spills what does not fit.

Every DuckDB database the package opens gets the same budget (``apply``): the engine's in-memory
database (``engine.connect``) and the warehouse file (``resources/warehouse.connect_warehouse``).
DuckDB keeps its settings per database, so the limit holds for each of them: a run has at most
these two open, and the transforms' work happens in the in-memory one.

The budget comes from the environment (``GOODPULSE_MEMORY_LIMIT``, ``GOODPULSE_TEMP_DIR``,
``GOODPULSE_THREADS``; settings.py parses and checks them), read once per process by
``in_force``: a database is opened once and keeps the budget it was opened with.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

# The run tags that show the budget of a run in the Dagster UI (automation/jobs.py).
MEMORY_LIMIT_TAG = "goodpulse/memory_limit"
THREADS_TAG = "goodpulse/threads"


@dataclass(frozen=True)
class MemoryBudget:
    # DuckDB size text: '2GB', '500MB' (settings.py checks the form).
    memory_limit: str
    # Where DuckDB writes what does not fit in memory_limit (sorts, joins, aggregates).
    temp_directory: Path
    threads: int

    def apply(self, con) -> None:
        """Set the budget on ``con``'s database (DuckDB's settings are per database, so one
        connection sets them for every cursor). ``preserve_insertion_order`` is left as each
        caller sets it."""
        con.execute(f"SET memory_limit = '{self.memory_limit}'")
        con.execute(f"SET threads = {self.threads}")
        temp = str(self.temp_directory)
        # DuckDB creates the spill folder itself when it first spills, but not its parents.
        self.temp_directory.parent.mkdir(parents=True, exist_ok=True)
        # DuckDB refuses to set the temp directory again once it has spilled there, even to the
        # same path: a second connection to the same warehouse database would fail.
        [(current,)] = con.execute("SELECT current_setting('temp_directory')").fetchall()
        if current != temp:
            con.execute("SET temp_directory = ?", [temp])

    def describe(self) -> str:
        """The one line the CLI prints at the start of a run and each run logs once."""
        return (
            f"DuckDB budget: memory_limit {self.memory_limit}, threads {self.threads}, "
            f"spilling to {self.temp_directory}"
        )

    def run_tags(self) -> dict[str, str]:
        """The tags every run of the jobs carries."""
        return {MEMORY_LIMIT_TAG: self.memory_limit, THREADS_TAG: str(self.threads)}


@functools.cache
def in_force() -> MemoryBudget:
    """This process's budget, from the environment when first asked."""
    # Imported here: settings.py imports this module for ``MemoryBudget``.
    from goodpulse_dagster.settings import memory_budget_from_env

    return memory_budget_from_env()
