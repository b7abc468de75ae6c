"""One :func:`generate` call: draw the world, then the tables chunk by chunk, encode and write them."""

from __future__ import annotations

import itertools
import json
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from goodpulse_dagster.sample_data.dimensions import (
    category_translation_frame,
    geolocation_frame,
    product_frame,
    seller_frame,
)
from goodpulse_dagster.sample_data.frames import ALIGN_ORDERS, Frame
from goodpulse_dagster.sample_data.funnel import deal_count, deal_frame, lead_count, lead_frame
from goodpulse_dagster.sample_data.messy import (
    Injected,
    inject_order_problems,
    products_with_duplicates,
)
from goodpulse_dagster.sample_data.orders import order_chunk
from goodpulse_dagster.sample_data.world import World
from goodpulse_dagster.sample_data.writer import (
    LAYOUTS,
    REPORT_FILE_NAME,
    Sink,
    remove_previous_output,
)

# Worker threads that turn frames into CSV text (this machine class has 2 cores).
ENCODE_THREADS = 2
# Orders drawn and written at a time, unless told otherwise. Peak memory grows with it (~2 KB per
# order of the chunk: one chunk being drawn, the previous one being encoded); 100,000 runs as fast
# as 200,000 and peaks ~0.2 GB lower (docs/performance.md, "The generator's memory").
DEFAULT_CHUNK_ORDERS = 100_000
# Upper bound for a chunk: keeps each chunk's text under Arrow's 2 GiB string-array limit.
MAX_CHUNK_ORDERS = 1_000_000
# Rows per frame of the dimension tables that grow with the orders (products, sellers, leads,
# deals): like chunk_orders for the order-grain tables, it bounds their memory whatever the size.
DIMENSION_CHUNK_ROWS = 200_000
# Encoded or encoding frames waiting to be written: one order chunk's five tables.
FRAMES_IN_FLIGHT = 5


@dataclass
class GenerationReport:
    """What one :func:`generate` call wrote. JSON-serialisable via :meth:`to_dict`."""

    orders: int
    seed: int
    messy: bool
    layout: str
    # Data rows written per table name (schema.SOURCE_TABLES keys), injected rows included.
    rows: dict[str, int]
    # kind -> table -> count of injected problems; empty when not messy (see messy.INJECTION_KINDS).
    injected: dict[str, dict[str, int]]
    # Paths written, relative to out_dir.
    files: list[str]
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def generate(
    out_dir: str | Path,
    orders: int = 100_000,
    seed: int = 42,
    messy: bool = False,
    layout: str = "full",
    chunk_orders: int = DEFAULT_CHUNK_ORDERS,
) -> GenerationReport:
    """Write an Olist-shaped export of ``orders`` orders to ``out_dir`` and report what was written.

    ``layout="full"`` writes one Kaggle file per table; ``"quarterly"`` writes the order-grain tables
    as per-quarter drops ``<table>/<YYYY>-Q<n>.csv`` (every quarter of the purchase window, header
    only when empty) and the dimension tables as full files. Files this generator wrote earlier in
    ``out_dir`` (either layout) are removed first, so a directory never mixes two runs.
    The same (orders, seed, messy, layout) always gives byte-identical files.
    """
    if orders < 1:
        raise ValueError(f"orders must be at least 1, got {orders}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if chunk_orders < 1:
        raise ValueError(f"chunk_orders must be at least 1, got {chunk_orders}")
    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    remove_previous_output(out)

    world = World(orders, seed, messy)
    injected = Injected(messy)
    chunk = min(
        MAX_CHUNK_ORDERS, max(ALIGN_ORDERS, -(-chunk_orders // ALIGN_ORDERS) * ALIGN_ORDERS)
    )
    # Frames in writing order, drawn lazily: a chunk is drawn only when its first frame is asked for.
    frames = itertools.chain(
        _dimension_frames(world, injected),
        itertools.chain.from_iterable(
            _order_frames(world, start, min(orders, start + chunk), injected)
            for start in range(0, orders, chunk)
        ),
    )
    # Text encoding (numpy and Arrow kernels, which release the GIL) runs on worker threads while
    # the main thread draws the next frames and writes the finished ones, in order: the output is
    # the same as a sequential run. At most FRAMES_IN_FLIGHT frames wait to be written, besides
    # the chunk being drawn, so memory depends on the chunk size, never on the total.
    with (
        Sink(out, layout, messy, world.quarters) as sink,
        ThreadPoolExecutor(ENCODE_THREADS) as pool,
    ):
        pending: deque[Future] = deque()
        for frame in frames:
            pending.append(pool.submit(sink.encode, frame, world.rand))
            if len(pending) > FRAMES_IN_FLIGHT:
                sink.write(*pending.popleft().result())
        while pending:
            sink.write(*pending.popleft().result())

    report = GenerationReport(
        orders=orders,
        seed=seed,
        messy=messy,
        layout=layout,
        rows=dict(sink.rows),
        injected=injected.as_dict(),
        files=list(sink.files),
        seconds=round(time.perf_counter() - started, 3),
    )
    (out / REPORT_FILE_NAME).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return report


def _dimension_frames(world: World, injected: Injected) -> Iterator[Frame]:
    """The dimension tables (written first), messy problems included: the tables that grow with
    the orders a range of DIMENSION_CHUNK_ROWS rows at a time."""
    for start, stop in _ranges(world.n_products, DIMENSION_CHUNK_ROWS):
        if world.messy:
            yield products_with_duplicates(world, start, stop, injected)
        else:
            yield product_frame(world, np.arange(start, stop))
    for start, stop in _ranges(world.n_sellers, DIMENSION_CHUNK_ROWS):
        yield seller_frame(world, np.arange(start, stop))
    yield geolocation_frame(world)
    yield category_translation_frame()
    for start, stop in _ranges(lead_count(world), DIMENSION_CHUNK_ROWS):
        yield lead_frame(world, np.arange(start, stop))
    for start, stop in _ranges(deal_count(world), DIMENSION_CHUNK_ROWS):
        yield deal_frame(world, np.arange(start, stop))


def _order_frames(world: World, start: int, stop: int, injected: Injected) -> Iterator[Frame]:
    """The order-grain tables of orders [start, stop), messy problems included."""
    chunk = order_chunk(world, start, stop)
    if world.messy:
        chunk = inject_order_problems(world, chunk, injected)
    yield from chunk.frames()


def _ranges(n: int, size: int) -> Iterator[tuple[int, int]]:
    """[0, n) as consecutive (start, stop) ranges of at most ``size``."""
    for start in range(0, n, size):
        yield start, min(n, start + size)
