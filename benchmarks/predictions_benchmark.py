"""The prediction figures of docs/predictions.md: the MBG/NBD fit at 1M simulated customers, and
the three prediction transforms on a simulated lifecycle of ~10.8M orders (time and peak RSS).

    python benchmarks/predictions_benchmark.py fit      # 1M customers; lifetimes too if importable
    python benchmarks/predictions_benchmark.py scale    # writes WORK/lifecycle.parquet once

WORK is $GOODPULSE_BENCH_DIR or /tmp/goodpulse_predictions_bench. Populations are drawn from
MBG/NBD (``clv_model.simulate_mbg``) with fixed seeds, so every run draws the same customers.
"""

from __future__ import annotations

import os
import resource
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from goodpulse_dagster.engine import connect
from goodpulse_dagster.params import MetricParams
from goodpulse_dagster.predictions import transforms as P
from goodpulse_dagster.predictions.clv_model import MbgParams, fit_mbg, simulate_mbg

WORK = Path(os.environ.get("GOODPULSE_BENCH_DIR", "/tmp/goodpulse_predictions_bench"))
# Olist-like: most customers drop out right after their first purchase.
FIT_PARAMS = MbgParams(r=0.8, alpha=120.0, a=0.9, b=0.2)
SCALE_PARAMS = MbgParams(r=0.8, alpha=120.0, a=0.9, b=0.35)
SCALE_CUSTOMERS = 8_000_000
DAYS = 760  # 2016-09-01 .. 2018-09-30
START = np.datetime64("2016-09-01T00:00:00")
AS_OF = date(2018, 9, 30)


def peak_rss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def bench_fit(n: int = 1_000_000) -> None:
    rng = np.random.default_rng(7)
    ages = rng.integers(0, 730, n).astype(float)
    x, t_x, _ = simulate_mbg(FIT_PARAMS, ages, 0.0, rng)
    t_x = np.floor(t_x)
    keys, counts = np.unique(np.stack([x, t_x, ages], 1), axis=0, return_counts=True)
    print(f"{n:,} customers, {(x > 0).mean():.1%} repeaters, {len(keys):,} distinct triples")
    fit = fit_mbg(keys[:, 0], keys[:, 1], keys[:, 2], counts)
    print(f"ours, distinct triples: {fit.seconds:.2f} s {fit.params}")
    fit = fit_mbg(x, t_x, ages)
    print(f"ours, per customer:     {fit.seconds:.2f} s {fit.params}")
    try:
        from lifetimes import ModifiedBetaGeoFitter
    except ImportError:
        print("lifetimes is not importable: skipped")
        return
    warnings.filterwarnings("ignore")
    for label, args, kwargs in [
        ("per customer", (x, t_x, ages), {}),
        ("distinct triples", (keys[:, 0], keys[:, 1], keys[:, 2]), {"weights": counts}),
    ]:
        started = time.perf_counter()
        model = ModifiedBetaGeoFitter().fit(*args, **kwargs)
        print(f"lifetimes, {label}: {time.perf_counter() - started:.2f} s {model.params_.values}")


def write_lifecycle(path: Path) -> None:
    """~10.8M orders: each simulated customer's first purchase uniform over DAYS, its repeats
    spread uniformly over its observed life (the benchmark needs the volume, not the exact
    process)."""
    rng = np.random.default_rng(1)
    first = rng.integers(0, DAYS, SCALE_CUSTOMERS)
    ages = (DAYS - first).astype(float)
    x, _, _ = simulate_mbg(SCALE_PARAMS, ages, 0.0, rng)
    x = x.astype(np.int64)
    customer = np.repeat(np.arange(SCALE_CUSTOMERS), x + 1)
    starts = np.concatenate([[0], np.cumsum(x + 1)[:-1]])
    position = np.arange(len(customer)) - np.repeat(starts, x + 1)
    offset = np.where(position == 0, 0.0, rng.random(len(customer)))
    day = first[customer] + np.floor(offset * ages[customer]).astype(np.int64)
    seconds = day * 86400 + rng.integers(0, 86400, len(customer))
    table = pa.table(
        {
            "order_id": pa.array(np.char.mod("o%015d", np.arange(len(customer)))),
            "customer_unique_id": pa.array(np.char.mod("%032x", customer * 2654435761)),
            "order_status": pa.array(
                np.where(rng.random(len(customer)) < 0.97, "delivered", "canceled")
            ),
            "order_purchase_timestamp": pa.array(
                (START + seconds.astype("timedelta64[s]")).astype("datetime64[us]")
            ),
            "order_revenue": pa.array(np.round(rng.gamma(2.0, 80.0, len(customer)), 2)),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def bench_scale() -> None:
    path = WORK / "lifecycle.parquet"
    if not path.exists():
        write_lifecycle(path)
    lifecycle = ds.dataset(path)
    con = connect()
    try:
        con.register("lifecycle", lifecycle)
        # A stand-in customer_360 with the columns the predictions read.
        customer_360 = con.sql(
            "SELECT customer_unique_id, 'Medium Value' AS value_segment, "
            "'Active' AS lifecycle_stage FROM lifecycle "
            "WHERE order_status = 'delivered' GROUP BY 1"
        ).to_arrow_table()
    finally:
        con.close()
    print(f"{lifecycle.count_rows():,} orders, {customer_360.num_rows:,} customers")
    params = MetricParams(as_of=AS_OF)
    steps = {
        "customer_predictions": lambda: P.build_customer_predictions(
            lifecycle, customer_360, params
        ),
        "prediction_backtest": lambda: P.build_prediction_backtest(lifecycle, params),
        "churn_risk_monitor": lambda: P.build_churn_risk_monitor(lifecycle, params),
    }
    for name, step in steps.items():
        started = time.perf_counter()
        result = step()
        seconds = time.perf_counter() - started
        fits = result.fits if hasattr(result, "fits") else [result.fit]
        print(
            f"{name}: {seconds:.1f} s, peak RSS {peak_rss_mb():,} MB, fits "
            + ", ".join(f"{f.purchases.seconds:.2f} s" for f in fits)
        )


if __name__ == "__main__":
    {"fit": bench_fit, "scale": bench_scale}[sys.argv[1] if len(sys.argv) > 1 else "fit"]()
