"""Step retries: what is retried, how often, and what never is.

Every step that reads or writes the lake (S3 or a local folder) or writes the DuckDB warehouse
(bronze, silver, gold, KPI, quarantine and the report) carries ``STEP_RETRY_POLICY``: a step that
fails is run again after ~1 s, ~2 s and ~4 s (exponential backoff with jitter, so two runs that
failed together do not retry together). That covers what passes by itself: an S3 request that
still fails after boto3's own attempts (resources/storage.py), a dropped connection, the warehouse
file held for a moment by another process (a reader such as `goodpulse kpis` or a BI tool).

A user error (``errors.UserError``: bad input, a missing file or column, a wrong setting, a
failed blocking check upstream) fails at once: running it again gives the same answer three more
times and only delays the alert. ``user_errors_fail_fast`` turns one into a
``dagster.Failure(allow_retries=False)``, which Dagster's retry policy lets through; the user
error stays the Failure's cause, so ``run_trust.user_error_message`` still finds its sentence.
The exception is ``WarehouseLockedError``: a held lock is the contention the retries are for.

Run retries (``run_retries`` in dagster.yaml) are the other level: a run whose process crashed
is started again by the daemon, once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import Backoff, Failure, Jitter, RetryPolicy

from goodpulse_dagster.errors import UserError
from goodpulse_dagster.resources.warehouse import WarehouseLockedError

STEP_RETRY_POLICY = RetryPolicy(
    max_retries=3, delay=1, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)


def is_retriable(error: BaseException) -> bool:
    """Whether the step retry policy may run a step again after ``error``."""
    return not isinstance(error, UserError) or isinstance(error, WarehouseLockedError)


@contextmanager
def user_errors_fail_fast() -> Iterator[None]:
    """Inside a step: a user error fails the step without its retries (see the module doc)."""
    try:
        yield
    except UserError as error:
        if is_retriable(error):
            raise
        raise Failure(description=str(error), allow_retries=False) from error
