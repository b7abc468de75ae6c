"""Messy mode: the problems real exports contain, injected into clean frames and counted exactly.

Duplicates, several reviews per order, multi-line review text, a few delivered orders without a
delivery date, and a few junk rows (malformed line, bad number, bad timestamp, orphan). Junk rows
are *extra* rows next to intact originals, so quarantining them leaves the story unchanged. Every
injected problem is counted in :class:`Injected` (the report's ``injected``). The quoting style and
line ends messy mode also copies from the real files are the writer's concern (see
:func:`goodpulse_dagster.sample_data.formats.table_style`).
"""

from __future__ import annotations

import numpy as np

from goodpulse_dagster.sample_data import reference_data as ref
from goodpulse_dagster.sample_data.dates import NULL_TIMESTAMP, SECONDS_PER_DAY
from goodpulse_dagster.sample_data.dimensions import product_frame
from goodpulse_dagster.sample_data.frames import (
    ALIGN_ORDERS,
    INSERTED_LINE,
    LINE_OVERRIDE,
    Frame,
    concat_frames,
    sort_keys,
)
from goodpulse_dagster.sample_data.orders import OrderChunk
from goodpulse_dagster.sample_data.randomness import Random
from goodpulse_dagster.sample_data.reviews import (
    MULTILINE_OFFSET,
    review_messages,
    review_scores,
    review_titles,
    sentiment_of,
)
from goodpulse_dagster.sample_data.world import World

# Injected kind -> tables it appears in (the keys of GenerationReport.injected when messy).
INJECTION_KINDS: dict[str, tuple[str, ...]] = {
    "duplicate_rows": ("orders", "order_items", "order_payments", "customers", "products"),
    "extra_reviews": ("order_reviews",),
    "repeated_review_id": ("order_reviews",),
    "missing_delivery_date": ("orders",),
    "multiline_review_text": ("order_reviews",),
    "malformed_rows": ("order_items",),
    "bad_numbers": ("order_payments",),
    "bad_timestamps": ("orders",),
    "orphan_rows": ("order_items", "order_payments"),
}
DUPLICATE_SHARE = 0.005
EXTRA_REVIEW_SHARE = 0.008
THIRD_REVIEW_SHARE = 0.3  # of orders with an extra review, those with two extras
REPEATED_REVIEW_ID_SHARE = 0.3  # of extra reviews, those reusing the order's first review_id
EXTRA_REVIEW_ANSWER_DAYS = (1, 15)
MISSING_DELIVERY_SHARE = 0.002
MULTILINE_SHARE = 0.004
INSERT_MAX_OFFSET = 500  # injected rows land up to this many orders after their source
BAD_TIMESTAMPS = ("2017-13-45 99:00:00", "0000-00-00 00:00:00", "31/02/2018 25:61")
BAD_NUMBERS = ("12,50x", "R$ 39.90", "NaN?")

# Keys with this bit set name entities that do not exist (orphan rows' order ids, extra reviews).
_ORPHAN_BIT = np.uint64(1 << 62)
_EXTRA_REVIEW_BIT = np.uint64(1 << 61)


class Injected:
    """Exact counts of injected problems, kind -> table -> n."""

    def __init__(self, messy: bool) -> None:
        self.messy = messy
        self.counts = {kind: dict.fromkeys(tables, 0) for kind, tables in INJECTION_KINDS.items()}

    def add(self, kind: str, table: str, n: int) -> None:
        self.counts[kind][table] += int(n)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {k: dict(v) for k, v in self.counts.items()} if self.messy else {}


def _insertion_keys(
    rand: Random, stream: str, order_index: np.ndarray, row_keys: np.ndarray, limit: int
) -> np.ndarray:
    """Sort keys that place injected rows after an order up to INSERT_MAX_OFFSET orders later,
    never past the end of their ALIGN_ORDERS block (so never into another chunk)."""
    order = np.asarray(order_index, dtype=np.int64)
    offset = rand.integers(stream, row_keys, 0, INSERT_MAX_OFFSET)
    block_end = np.minimum((order // ALIGN_ORDERS + 1) * ALIGN_ORDERS, limit)
    target = np.minimum(order + offset, block_end - 1)
    return sort_keys(target, INSERTED_LINE)


def products_with_duplicates(world: World, start: int, stop: int, injected: Injected) -> Frame:
    """Products [start, stop) plus the exact copies (~DUPLICATE_SHARE of all products, each a
    little after its source) that land in this range.

    A copy lands up to INSERT_MAX_OFFSET rows after its source, so the copies landing here come
    from sources in [start - INSERT_MAX_OFFSET, stop): the output is the same whatever the ranges.
    """
    rand = world.rand
    n = world.n_products
    sources = np.arange(max(0, start - INSERT_MAX_OFFSET), stop, dtype=np.uint64)
    sources = sources[rand.uniform("messy_dup_products", sources) < DUPLICATE_SHARE]
    offset = rand.integers("messy_dup_products.at", sources, 0, INSERT_MAX_OFFSET)
    target = np.minimum(sources.astype(np.int64) + offset, n - 1)
    landing = (target >= start) & (target < stop)
    copies = product_frame(world, sources[landing])
    copies.sort_key = sort_keys(target[landing], INSERTED_LINE)
    injected.add("duplicate_rows", "products", len(copies))
    return product_frame(world, np.arange(start, stop)).merge(copies)


def inject_order_problems(world: World, chunk: OrderChunk, injected: Injected) -> OrderChunk:
    """Messy mode for one chunk. Every change is counted; junk rows are extra copies."""
    rand = world.rand
    limit = world.n_orders
    index = chunk.index
    okey = index.astype(np.uint64)
    orders, customers, items, payments, reviews = chunk.frames()

    # Delivered orders whose delivery date is missing (the row itself is changed).
    delivered_at = orders.columns["order_delivered_customer_date"]
    missing = (delivered_at != NULL_TIMESTAMP) & (
        rand.uniform("messy_missing_delivery", okey) < MISSING_DELIVERY_SHARE
    )
    delivered_at[missing] = NULL_TIMESTAMP
    injected.add("missing_delivery_date", "orders", missing.sum())

    def duplicates(
        frame: Frame, stream: str, order_index: np.ndarray, eligible: np.ndarray | None = None
    ) -> Frame:
        """Exact copies of ~DUPLICATE_SHARE of the rows, each placed a little after its source."""
        chosen = rand.uniform(stream, frame.sort_key) < DUPLICATE_SHARE
        if eligible is not None:
            chosen &= eligible
        rows = np.flatnonzero(chosen)
        copies = frame.take(rows)
        copies.sort_key = _insertion_keys(
            rand, stream + ".at", order_index[rows], frame.sort_key[rows], limit
        )
        injected.add("duplicate_rows", frame.table, len(rows))
        return copies

    def junk_copies(frame: Frame, kind: str, stream: str) -> tuple[Frame, np.ndarray]:
        """Copies of the first row (item line 1 / payment sequence 1) of this chunk's junk orders
        of ``kind``, to be spoilt by the caller."""
        picked = world.junk_orders[kind]
        picked = picked[(picked >= index[0]) & (picked <= index[-1])]
        # Payment rows count from sequence 1; order rows and item lines from 0.
        first_line = 1 if frame.table == "order_payments" else 0
        rows = np.searchsorted(frame.sort_key, sort_keys(picked, first_line))
        copies = frame.take(rows)
        copies.sort_key = _insertion_keys(rand, stream, picked, frame.sort_key[rows], limit)
        return copies, picked

    # orders: duplicates (never of a row with a removed date: that count must stay exact) and
    # copies with an unparseable purchase timestamp.
    dup_orders = duplicates(orders, "messy_dup_orders", index, eligible=~missing)
    bad_ts, picked = junk_copies(orders, "bad_timestamps", "messy_bad_ts.at")
    bad_ts.overrides = [
        ("order_purchase_timestamp", i, BAD_TIMESTAMPS[int(o) % len(BAD_TIMESTAMPS)])
        for i, o in enumerate(picked)
    ]
    injected.add("bad_timestamps", "orders", len(bad_ts))
    orders = orders.merge(concat_frames([dup_orders, bad_ts]))

    customers = customers.merge(duplicates(customers, "messy_dup_customers", index))

    # items: duplicates, malformed lines (one field too few or too many), orphans.
    item_order = items.columns["order_id"].astype(np.int64)
    dup_items = duplicates(items, "messy_dup_items", item_order)
    malformed, picked = junk_copies(items, "malformed_rows", "messy_malformed.at")
    malformed.overrides = [
        (LINE_OVERRIDE, i, "drop_last" if int(o) % 2 else "extra_field")
        for i, o in enumerate(picked)
    ]
    injected.add("malformed_rows", "order_items", len(malformed))
    orphan_items, _ = junk_copies(items, "orphan_items", "messy_orphan_items.at")
    orphan_items.columns["order_id"] = orphan_items.columns["order_id"] | _ORPHAN_BIT
    injected.add("orphan_rows", "order_items", len(orphan_items))
    items = items.merge(concat_frames([dup_items, malformed, orphan_items]))

    # payments: duplicates, values that are no number, orphans.
    pay_order = payments.columns["order_id"].astype(np.int64)
    dup_payments = duplicates(payments, "messy_dup_payments", pay_order)
    bad_numbers, picked = junk_copies(payments, "bad_numbers", "messy_bad_numbers.at")
    bad_numbers.overrides = [
        ("payment_value", i, BAD_NUMBERS[int(o) % len(BAD_NUMBERS)]) for i, o in enumerate(picked)
    ]
    injected.add("bad_numbers", "order_payments", len(bad_numbers))
    orphan_payments, _ = junk_copies(payments, "orphan_payments", "messy_orphan_payments.at")
    orphan_payments.columns["order_id"] = orphan_payments.columns["order_id"] | _ORPHAN_BIT
    injected.add("orphan_rows", "order_payments", len(orphan_payments))
    payments = payments.merge(concat_frames([dup_payments, bad_numbers, orphan_payments]))

    # reviews: multi-line quoted messages, and orders with 2-3 reviews (some reusing a review_id).
    rkey = reviews.columns["order_id"]
    multiline = rand.uniform("messy_multiline", rkey) < MULTILINE_SHARE
    pick = (rand.uniform("messy_multiline.pick", rkey) * len(ref.MULTILINE_REVIEW_MESSAGES)).astype(
        np.int64
    )
    message = reviews.columns["review_comment_message"]
    message[multiline] = (MULTILINE_OFFSET + pick)[multiline]
    injected.add("multiline_review_text", "order_reviews", multiline.sum())

    with_extra = np.flatnonzero(rand.uniform("messy_extra_review", rkey) < EXTRA_REVIEW_SHARE)
    n_extra = 1 + (rand.uniform("messy_third_review", rkey[with_extra]) < THIRD_REVIEW_SHARE)
    source = np.repeat(with_extra, n_extra)
    nth = np.arange(len(source)) - np.repeat(np.cumsum(n_extra) - n_extra, n_extra) + 1
    extra = reviews.take(source)
    ekey = (extra.columns["order_id"] << np.uint64(2)) | nth.astype(np.uint64)
    reuse = rand.uniform("messy_reuse_review_id", ekey) < REPEATED_REVIEW_ID_SHARE
    extra.columns["review_id"] = np.where(
        reuse, extra.columns["review_id"], ekey | _EXTRA_REVIEW_BIT
    )
    review_order = extra.columns["order_id"].astype(np.int64)
    klass = chunk.delivery_class[review_order - index[0]]
    score = review_scores(rand, "messy_extra_score", ekey, klass)
    sentiment = sentiment_of(score)
    extra.columns["review_score"] = score
    extra.columns["review_comment_title"] = review_titles(
        rand, "messy_extra_title", ekey, sentiment
    )
    extra.columns["review_comment_message"] = review_messages(
        rand, "messy_extra_message", ekey, sentiment
    )
    extra.columns["review_answer_timestamp"] = (
        extra.columns["review_answer_timestamp"]
        + rand.integers("messy_extra_answer", ekey, *EXTRA_REVIEW_ANSWER_DAYS) * SECONDS_PER_DAY
        + rand.integers("messy_extra_answer_second", ekey, 0, SECONDS_PER_DAY - 1)
    )
    extra.sort_key = _insertion_keys(rand, "messy_extra_review.at", review_order, ekey, limit)
    injected.add("extra_reviews", "order_reviews", len(extra))
    injected.add("repeated_review_id", "order_reviews", reuse.sum())
    reviews = reviews.merge(extra)
    return OrderChunk(index, orders, customers, items, payments, reviews, chunk.delivery_class)
