"""``python -m goodpulse_dagster.sample_data OUT_DIR [--orders N] ...`` (``goodpulse generate`` is the
usual way in)."""

from __future__ import annotations

import argparse
import json

from goodpulse_dagster.sample_data import LAYOUTS, generate
from goodpulse_dagster.sample_data.export import DEFAULT_CHUNK_ORDERS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write an Olist-shaped sample export.")
    parser.add_argument("out_dir")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--messy", action="store_true")
    parser.add_argument("--layout", choices=LAYOUTS, default="full")
    parser.add_argument("--chunk-orders", type=int, default=DEFAULT_CHUNK_ORDERS)
    args = parser.parse_args(argv)
    report = generate(
        args.out_dir, args.orders, args.seed, args.messy, args.layout, args.chunk_orders
    )
    print(json.dumps(report.to_dict(), indent=2))


if __name__ == "__main__":
    main()
