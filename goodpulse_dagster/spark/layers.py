"""The gold, KPI and prediction builds of the DuckDB path, step by step on Spark.

Same models, same order, same inputs as ``gold/transforms.py``, ``kpi/transforms.py`` and
``predictions/transforms.py``; every table is written to ``<out>/<layer>/<table>`` as a Parquet
dataset (gold and KPI tables are not partitioned in the DuckDB path either), and the next steps
read what was written.

What stays on the driver, and why:

* ``as_of`` (``gold/as_of.compute_as_of``): one date from the lifecycle's purchase times and
  the mistyped-date guard, computed by DuckDB over the lifecycle's Parquet files (two columns).
  It is Python-side SQL, not a model; phase 2 may move it onto Spark.
* The prediction fit (``predictions/clv_model.py``, numpy/scipy L-BFGS): it reads the distinct
  (frequency, recency, age) triples with their counts and the repeat customers' (frequency,
  value) pairs, small aggregates collected from Spark, and its scores, one row per distinct
  triple, go back to Spark as a small table. A per-customer array never reaches the driver
  except the repeaters' two columns, as on DuckDB.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import PurePosixPath

import pyarrow.dataset as ds

from goodpulse_dagster import schema
from goodpulse_dagster.engine import Input
from goodpulse_dagster.gold.as_of import compute_as_of
from goodpulse_dagster.gold.transforms import CUSTOMER_STEPS, rfm_code_table
from goodpulse_dagster.kpi.transforms import kpi_sql_params
from goodpulse_dagster.params import MetricParams
from goodpulse_dagster.predictions import transforms as predictions
from goodpulse_dagster.spark.runner import SparkSteps, read_input, write_parquet
from goodpulse_dagster.sql_params import label_params, metric_sql_params, span_sql_params

# The silver inputs of gold, by the names the models read them under.
SILVER_INPUTS = {
    "lifecycle": schema.LIFECYCLE,
    "closed_deals": "closed_deals",
    "leads": "marketing_qualified_leads",
    "sellers": "sellers",
}


def table_path(out: str, layer: str, table: str) -> str:
    """Where a table of ``layer`` is written under the output root ``out`` (a local folder or
    an s3a:// URL)."""
    return str(PurePosixPath(out) / layer / table) if "://" not in out else f"{out}/{layer}/{table}"


class SparkBuild:
    """One run of gold, KPIs and predictions on Spark over silver Parquet datasets."""

    def __init__(
        self,
        spark,
        silver: Mapping[str, str | Sequence[str]],
        out: str,
        params: MetricParams,
        lifecycle_files: Sequence[str] | None = None,
        as_of_input: Input | None = None,
    ):
        """``silver``: silver table name -> its Parquet paths. ``as_of`` is computed by DuckDB
        over ``as_of_input`` (any ``engine.Input``: the Dagster assets pass a relation over the
        Hive layout), else over ``lifecycle_files``, the local lifecycle Parquet files (default:
        ``silver``'s lifecycle paths)."""
        self.steps = SparkSteps(
            spark, {view: silver[table] for view, table in SILVER_INPUTS.items()}
        )
        self.out = out
        self.params = params
        if as_of_input is None:
            files = lifecycle_files or silver[schema.LIFECYCLE]
            as_of_input = ds.dataset(list(_as_list(files)))
        self.as_of = compute_as_of(as_of_input, params)
        self.written: dict[tuple[str, str], str] = {}
        # Rows of each written table, and the CLV fit of customer_predictions (the assets' metadata).
        self.rows: dict[tuple[str, str], int] = {}
        self.fit = None

    def _write(self, layer: str, table: str, model: str, sql_params, columns) -> str:
        path = table_path(self.out, layer, table)
        self.rows[(layer, table)] = self.steps.create_table(
            model, path, sql_params, columns, view=table
        )
        self.written[(layer, table)] = path
        return path

    def use_written(self, layer: str, table: str) -> None:
        """Read a table an earlier build wrote (another Dagster step) as the view ``table``."""
        self.steps.register(table, table_path(self.out, layer, table))

    # --- gold ----------------------------------------------------------------------------------

    def gold(self) -> None:
        """customer_unified_lifecycle, customer_360 (of it), customer_segmentation and
        cohort_retention, as gold/transforms.py builds them."""
        self.steps.register("rfm_codes", rfm_code_table())
        sql_params = {**metric_sql_params(self.params), "as_of": self.as_of}
        for step in CUSTOMER_STEPS:
            self.steps.materialize(step, sql_params)
        self._write(
            schema.GOLD, "customer_unified_lifecycle", "gold/customer_unified_lifecycle",
            sql_params, schema.CUSTOMER_UNIFIED_LIFECYCLE_COLUMNS,
        )  # fmt: skip
        self._write(
            schema.GOLD, "customer_360", "gold/customer_360", {}, schema.CUSTOMER_360_COLUMNS
        )
        self._write(
            schema.GOLD, "customer_segmentation", "gold/customer_segmentation", label_params(),
            schema.CUSTOMER_SEGMENTATION_COLUMNS,
        )  # fmt: skip
        self._write(
            schema.GOLD, "cohort_retention", "gold/cohort_retention",
            {**metric_sql_params(self.params), **span_sql_params(self.params)},
            schema.COHORT_RETENTION_COLUMNS,
        )  # fmt: skip

    # --- kpi -----------------------------------------------------------------------------------

    def kpis(self) -> None:
        """The 12 KPI tables of ``schema.KPI_TABLES`` (after ``gold``)."""
        for name, columns in schema.KPI_TABLES.items():
            sql_params = kpi_sql_params(name, self.params, self.as_of)
            self._write(schema.KPI, name, f"kpi/{name}", sql_params, columns)

    # --- predictions ---------------------------------------------------------------------------

    def predictions(self) -> None:
        """gold.customer_predictions, kpi.early_warning, kpi.prediction_backtest and
        kpi.churn_risk_monitor, as predictions/transforms.py builds them (after ``gold``)."""
        self._customer_predictions()
        self._write(
            schema.KPI, "early_warning", "kpi/early_warning",
            {**label_params(), "high_risk": schema.CHURN_RISK_BANDS[-1]},
            schema.PREDICTION_KPI_TABLES["early_warning"],
        )  # fmt: skip
        self._prediction_backtest()
        self._churn_risk_monitor()

    def _customer_predictions(self) -> None:
        s, params = self.steps, self.params
        predictions.create_summary(s, params, self.as_of)
        fit = predictions.fit_model(s, self.as_of, params)
        self.fit = fit
        predictions.register_scores(s, fit, predictions.HORIZONS_DAYS)
        sql_params = {
            **predictions.spend_params(fit),
            **predictions.band_params(params),
            "as_of": self.as_of,
        }
        self._write(
            schema.GOLD, "customer_predictions", predictions.PREDICTIONS_MODEL, sql_params,
            schema.CUSTOMER_PREDICTIONS_COLUMNS,
        )  # fmt: skip
        s.unregister("scores")

    def _prediction_backtest(self) -> None:
        s, params = self.steps, self.params
        cut = self.as_of - timedelta(days=params.backtest_holdout_days)
        mbg_name, naive_name = schema.PREDICTION_MODELS
        predictions.create_summary(s, params, cut)
        fit = predictions.fit_model(s, cut, params)
        predictions.register_scores(s, fit, {"expected_holdout": params.backtest_holdout_days})
        self._write(
            schema.KPI, "prediction_backtest", "kpi/prediction_backtest",
            {
                "completed_statuses": list(params.completed_statuses), "cut": cut,
                "holdout_end": self.as_of, "holdout_days": params.backtest_holdout_days,
                "mbg_name": mbg_name, "naive_name": naive_name,
            },
            schema.PREDICTION_KPI_TABLES["prediction_backtest"],
        )  # fmt: skip
        s.unregister("scores")

    def _monitor_dates(self) -> list[date]:
        """predictions.monitor_dates on Spark: the quarter ends before as_of, then as_of."""
        quarter_ends = self.steps.run(
            "kpi/churn_risk_monitor__dates",
            {"as_of": self.as_of, "completed_statuses": list(self.params.completed_statuses)},
        ).column("quarter_end")
        # As predictions.monitor_dates: Spark's quarter ends are TIMESTAMP_NTZ, DuckDB's TIMESTAMP.
        ends = sorted(
            t.date() for t in quarter_ends.to_pylist() if t is not None and t.date() < self.as_of
        )
        return [*ends, self.as_of]

    def _churn_risk_monitor(self) -> None:
        """One refit per monitor date, each date's rows appended to one Parquet dataset (the
        dates are few: a handful of quarters)."""
        s, params = self.steps, self.params
        path = table_path(self.out, schema.KPI, "churn_risk_monitor")
        table = predictions.churn_risk_monitor_rows(s, params, self._monitor_dates()).table
        write_parquet(read_input(s.spark, table), path)
        self.written[(schema.KPI, "churn_risk_monitor")] = path
        self.rows[(schema.KPI, "churn_risk_monitor")] = table.num_rows

    def close(self) -> None:
        self.steps.close()


def _as_list(paths: str | Sequence[str]) -> list[str]:
    return [paths] if isinstance(paths, str) else list(paths)
