"""Frames: a table's rows as raw numpy columns, in file order, before they become text."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Chunk boundaries are rounded up to a multiple of this many orders. Injected rows are placed within
# the ALIGN_ORDERS-block of the row they copy, so a block never straddles two chunks and the output
# does not depend on chunk_orders.
ALIGN_ORDERS = 1024

# Bits 0-5 of a sort key hold the line within an order; inserted rows take INSERTED_LINE.
LINE_BITS = 6
INSERTED_LINE = 63
# The "column" of an override that replaces a whole line (see Frame.overrides).
LINE_OVERRIDE = "*line*"


@dataclass
class Frame:
    """Rows of one table, in file order, as raw numpy columns.

    ``sort_key`` fixes the file order (an order's rows, then rows inserted after it);
    ``quarter`` is the purchase quarter of each row's order (None for dimension tables);
    ``overrides`` are a few (column or LINE_OVERRIDE, row, value) texts replacing a row's field or
    whole line after formatting (junk values that no numpy column can hold).
    """

    table: str
    columns: dict[str, np.ndarray]
    sort_key: np.ndarray
    quarter: np.ndarray | None = None
    overrides: list[tuple[str, int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sort_key)

    def take(self, rows: np.ndarray) -> Frame:
        """The given rows (without overrides)."""
        return Frame(
            self.table,
            {name: values[rows] for name, values in self.columns.items()},
            self.sort_key[rows],
            None if self.quarter is None else self.quarter[rows],
        )

    def merge(self, extra: Frame) -> Frame:
        """This frame plus ``extra`` rows, placed by sort key (stable: originals come first)."""
        if len(extra) == 0:
            return self
        order = np.argsort(np.concatenate([self.sort_key, extra.sort_key]), kind="stable")
        position = np.empty_like(order)
        position[order] = np.arange(len(order))
        overrides = [(c, int(position[r]), v) for c, r, v in self.overrides]
        overrides += [(c, int(position[len(self) + r]), v) for c, r, v in extra.overrides]
        return Frame(
            self.table,
            {
                name: np.concatenate([values, extra.columns[name]])[order]
                for name, values in self.columns.items()
            },
            np.concatenate([self.sort_key, extra.sort_key])[order],
            None if self.quarter is None else np.concatenate([self.quarter, extra.quarter])[order],
            overrides,
        )


def concat_frames(frames: list[Frame]) -> Frame:
    """Several extra-row frames of one table as one (overrides re-based)."""
    first = frames[0]
    overrides, base = [], 0
    for frame in frames:
        overrides += [(c, base + r, v) for c, r, v in frame.overrides]
        base += len(frame)
    return Frame(
        first.table,
        {name: np.concatenate([f.columns[name] for f in frames]) for name in first.columns},
        np.concatenate([f.sort_key for f in frames]),
        None if first.quarter is None else np.concatenate([f.quarter for f in frames]),
        overrides,
    )


def sort_keys(order_index: np.ndarray, line: np.ndarray | int = 0) -> np.ndarray:
    """File-order keys: the order (or entity) index in the high bits, the line within it below."""
    high = np.asarray(order_index).astype(np.uint64) << np.uint64(LINE_BITS)
    return high | np.asarray(line).astype(np.uint64)
