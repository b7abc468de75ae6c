"""How DuckDB's time grows past its memory budget: one customer-grain aggregate at two sizes,
run whole and in hash buckets, under several budgets (issue 17, "time linear in the data").

    python benchmarks/out_of_core.py [--rows 3000000 30000000] [--budgets 2GB 6GB 12GB]
        [--buckets 10] [--repeats 3] [--work benchmarks/work/out_of_core] [--out FILE.json]

The aggregate is the shape of gold's customer totals: N order rows on 32-character customer
keys (0.97 N distinct, as the generated data has about 1.03 orders per customer), grouped into
count, exact revenue sum, first and last purchase time and the latest order's city. Each
strategy writes its result as a table:

- ``whole``: one ``GROUP BY`` (DuckDB partitions and spills what does not fit by itself);
- ``bucketed``: the input written once per hash bucket of the key (``COPY ... PARTITION_BY``),
  then one ``GROUP BY`` per bucket, so that each bucket's hash table fits in the budget; the
  partitioning pass is part of its time.

Every strategy's result is checked against the whole one's (row count, order count, revenue)
before its time is printed; each time is the median of ``--repeats`` runs. Threads are 2, as the pipeline's default. Not a test: nothing
asserts on the timings (``test_benchmark_at_scale.py`` checks the strategies agree).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
# Distinct keys per row: generated data has about 1.03 orders per customer.
KEYS_PER_ROW = 0.97
AGGREGATE = (
    "k, count(*) AS orders, sum(v)::DECIMAL(18, 2) AS revenue, min(ts) AS first_at, "
    "max(ts) AS last_at, arg_max(city, ts) AS city"
)


def write_rows(con: duckdb.DuckDBPyConnection, rows: int, path: Path) -> None:
    """``rows`` order-like rows as Parquet (deterministic: the same file for the same size)."""
    keys = int(rows * KEYS_PER_ROW)
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""
        COPY (
            SELECT md5(((i * 7919) % {keys})::VARCHAR) AS k,
                   (i % 1000)::DECIMAL(18, 2) AS v,
                   TIMESTAMP '2017-01-01' + INTERVAL (i % 50000000) SECOND AS ts,
                   'city_' || (i % 5000) AS city
            FROM range({rows}) r(i)
        ) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
        """
    )


def connect(budget: str, spill: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{budget}'")
    con.execute("SET threads = 2")
    con.execute("SET temp_directory = ?", [str(spill)])
    return con


def whole(con: duckdb.DuckDBPyConnection, source: Path, scratch: Path, buckets: int) -> None:
    con.execute(
        f"CREATE TABLE result AS SELECT {AGGREGATE} FROM read_parquet('{source}') GROUP BY k"
    )


def bucketed(con: duckdb.DuckDBPyConnection, source: Path, scratch: Path, buckets: int) -> None:
    shutil.rmtree(scratch, ignore_errors=True)
    con.execute(
        f"COPY (SELECT *, hash(k) % {buckets} AS bucket FROM read_parquet('{source}')) "
        f"TO '{scratch}' (FORMAT parquet, PARTITION_BY (bucket), COMPRESSION zstd)"
    )
    for bucket in range(buckets):
        part = f"read_parquet('{scratch}/bucket={bucket}/*.parquet')"
        verb = "CREATE TABLE result AS" if bucket == 0 else "INSERT INTO result"
        con.execute(f"{verb} SELECT {AGGREGATE} FROM {part} GROUP BY k")
    shutil.rmtree(scratch, ignore_errors=True)


STRATEGIES = {"whole": whole, "bucketed": bucketed}


def measure(rows: int, budget: str, strategy: str, buckets: int, work: Path, repeats: int) -> dict:
    """One strategy at one size and budget: the median seconds and the result's totals."""
    runs = [_measure_once(rows, budget, strategy, buckets, work) for _ in range(repeats)]
    median = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    return {**median, "all_seconds": [r["seconds"] for r in runs]}


def _measure_once(rows: int, budget: str, strategy: str, buckets: int, work: Path) -> dict:
    source = work / f"rows_{rows}.parquet"
    spill = work / "spill"
    con = connect(budget, spill)
    try:
        if not source.exists():
            write_rows(con, rows, source)
        started = time.perf_counter()
        STRATEGIES[strategy](con, source, work / "buckets", buckets)
        seconds = time.perf_counter() - started
        [totals] = con.execute("SELECT count(*), sum(orders), sum(revenue) FROM result").fetchall()
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    return {
        "rows": rows,
        "budget": budget,
        "strategy": strategy,
        "buckets": buckets if strategy == "bucketed" else None,
        "seconds": round(seconds, 2),
        "totals": [totals[0], totals[1], str(totals[2])],
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[3_000_000, 30_000_000])
    parser.add_argument("--budgets", nargs="+", default=["2GB", "6GB", "12GB"])
    parser.add_argument("--buckets", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", type=Path, default=HERE / "work" / "out_of_core")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    args = parser.parse_args(argv)
    results = []
    for budget in args.budgets:
        for rows in args.rows:
            by_strategy = {
                s: measure(rows, budget, s, args.buckets, args.work, args.repeats)
                for s in STRATEGIES
            }
            if len({json.dumps(r["totals"]) for r in by_strategy.values()}) != 1:
                raise AssertionError(f"the strategies disagree at {rows:,} rows: {by_strategy}")
            results += by_strategy.values()
    smallest = min(args.rows)
    print("| budget | rows | strategy | seconds | / the whole aggregate at the smallest size |")
    print("|---|---|---|---|---|")
    for r in results:
        base = next(
            x["seconds"]
            for x in results
            if x["budget"] == r["budget"] and x["rows"] == smallest and x["strategy"] == "whole"
        )
        print(
            f"| {r['budget']} | {r['rows']:,} | {r['strategy']} | {r['seconds']:.2f} | "
            f"{r['seconds'] / base:.1f}x |"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
