"""Golden files: the exact bytes of each chart and of the report, from one fixed hand-made input.

The geometric tests (test_charts.py, test_report.py) check what a chart or the report says; the
golden files check that nothing else moved: a refactor of the drawing code or of the templates
must give the same bytes. The input is the hand-worked scenario of fixtures/handmade_expected.py
(ten customers, every figure written out literally) plus three small prediction tables written
here, so it is deterministic and small enough to read.

After a deliberate change of the output, regenerate with ``GOODPULSE_UPDATE_GOLDEN=1``: the test
then writes the files and fails saying so, so that it never passes while regenerating. Review
the diff of the files before committing them.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from goodpulse_dagster import schema
from goodpulse_dagster_tests.fixtures import handmade_expected as E

GOLDEN_DIR = Path(__file__).parent
CHARTS_DIR = GOLDEN_DIR / "charts"
UPDATE_ENV = "GOODPULSE_UPDATE_GOLDEN"
# The report's "generated" stamp: fixed, so the golden report is the same bytes on every run.
GENERATED_AT = datetime(2018, 7, 1, 6, 0, tzinfo=UTC)


def _frame(columns: dict[str, str], rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame([list(r) for r in rows], columns=list(columns))


def _prediction_tables() -> dict[str, pd.DataFrame]:
    """A backtest of 1,000 customers, a churn monitor over two quarter ends and a three-customer
    early-warning list, written out literally."""
    common = (date(2018, 6, 30), date(2018, 12, 27), 180, 1000, 60, 50)
    backtest = [
        ("MBG/NBD", *common, 55.0, 0.1, 0.05, 0.2),
        ("Naive baseline", *common, 80.0, 0.6, 0.09, 0.3),
    ]
    # (as_of, is_latest, segment, customers, revenue, high-risk customers, high-risk revenue,
    #  high-risk customer share, high-risk revenue share, fit converged)
    monitor = [
        (date(2018, 3, 31), False, "Low Value", 10, 2000.0, 5, 1000.0, 0.5, 0.5, True),
        (date(2018, 3, 31), False, "Medium Value", 10, 2000.0, 5, 1000.0, 0.5, 0.5, True),
        (date(2018, 3, 31), False, "High Value", 10, 200.0, 5, 100.0, 0.5, 0.5, True),
        (date(2018, 3, 31), False, "VIP", 10, 100.0, 5, 50.0, 0.5, 0.5, True),
        (date(2018, 6, 30), True, "Low Value", 10, 2000.0, 5, 1000.0, 0.5, 0.5, True),
        (date(2018, 6, 30), True, "Medium Value", 10, 2000.0, 5, 1000.0, 0.5, 0.5, True),
        (date(2018, 6, 30), True, "High Value", 10, 240.0, 5, 120.0, 0.5, 0.5, True),
        (date(2018, 6, 30), True, "VIP", 10, 120.0, 5, 60.0, 0.5, 0.5, True),
    ]
    early = [
        (1, "A", "VIP", "Active", 20, 3, 500.0, 0.4, 0.6, 30.0),
        (2, "B", "VIP", "Warm", 150, 2, 400.0, 0.3, 0.5, 20.0),
        (3, "C", "Low Value", "Active", 60, 1, 10.0, 0.2, 0.1, 1.5),
    ]
    cols = schema.PREDICTION_KPI_TABLES
    return {
        "prediction_backtest": _frame(cols["prediction_backtest"], backtest),
        "churn_risk_monitor": _frame(cols["churn_risk_monitor"], monitor),
        "early_warning": _frame(cols["early_warning"], early),
    }


def golden_tables() -> dict[str, pd.DataFrame]:
    """Every table the report reads, keyed by name, with exactly the columns of the table specs (schema/)."""
    tables = {name: _frame(schema.KPI_TABLES[name], rows) for name, rows in E.KPI_ROWS.items()}
    gold = schema.GOLD_TABLES
    tables["customer_segmentation"] = _frame(
        gold["customer_segmentation"], E.CUSTOMER_SEGMENTATION_ROWS
    )
    tables["cohort_retention"] = _frame(gold["cohort_retention"], E.COHORT_RETENTION_ROWS)
    return {**tables, **_prediction_tables()}


def check_golden(path: Path, actual: str) -> None:
    """``actual`` must equal the file at ``path`` byte for byte; with GOODPULSE_UPDATE_GOLDEN=1
    the file is (re)written and the test fails, saying so."""
    if os.environ.get(UPDATE_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
        pytest.fail(f"{UPDATE_ENV}=1: wrote {path.name}; unset it and run again to compare")
    assert path.exists(), f"no golden file {path}; generate it with {UPDATE_ENV}=1"
    expected = path.read_bytes().decode("utf-8")
    assert actual == expected, f"{path.name} differs from its golden file ({UPDATE_ENV}=1 rewrites)"
