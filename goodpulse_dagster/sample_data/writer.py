"""Writing the CSV files: which file each table goes to, headers, and the encoded lines.

:func:`output_files` is the one place that knows how the files are arranged in the output
directory: one Kaggle file per table, or (``"quarterly"``) per-quarter drops of the order-grain
tables, named as the landing zone recognises them (:mod:`goodpulse_dagster.landing.zone`).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from goodpulse_dagster import schema
from goodpulse_dagster.sample_data.dates import purchase_quarters
from goodpulse_dagster.sample_data.formats import encode_frame, header, table_style
from goodpulse_dagster.sample_data.frames import Frame
from goodpulse_dagster.sample_data.randomness import Random

LAYOUTS = ("full", "quarterly")
REPORT_FILE_NAME = "_generation_report.json"  # starts with "_": the landing zone ignores it


def _quarter_label(quarter: int) -> str:
    """'2017-Q1' for a quarter number (quarters since 1970-Q1)."""
    return f"{1970 + quarter // 4}-Q{quarter % 4 + 1}"


def output_files(layout: str, quarters: range) -> dict[tuple[str, int | None], str]:
    """(table, quarter) -> file path relative to the output directory, in writing order.

    ``"full"``: one Kaggle file per table (quarter None). ``"quarterly"``: the order-grain tables as
    ``<table>/<YYYY>-Q<n>.csv``, one per quarter in ``quarters``; the dimension tables as full files.
    """
    files: dict[tuple[str, int | None], str] = {}
    for name, table in schema.SOURCE_TABLES.items():
        if layout == "quarterly" and table.partitioned:
            for quarter in quarters:
                files[(name, quarter)] = f"{table.drop_dir}/{_quarter_label(quarter)}.csv"
        else:
            files[(name, None)] = table.file_name
    return files


def remove_previous_output(out: Path) -> None:
    """Remove the files an earlier run may have left (in either layout; only names this generator
    writes), so that a directory never mixes two runs."""
    for layout in LAYOUTS:
        for relative in output_files(layout, purchase_quarters()).values():
            (out / relative).unlink(missing_ok=True)
    (out / REPORT_FILE_NAME).unlink(missing_ok=True)


def _joined(lines: pa.Array) -> memoryview | bytes:
    """The concatenated text of a string array: its data buffer, without copying."""
    if len(lines) == 0:
        return b""
    _, offsets_buffer, data = lines.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    return memoryview(data)[offsets[0] : offsets[-1]]


class Sink:
    """Open output files (headers written up front) and the rows written to each table."""

    def __init__(self, out: Path, layout: str, messy: bool, quarters: range) -> None:
        self.out = out
        self.messy = messy
        self.files: list[str] = []
        self.rows: dict[str, int] = dict.fromkeys(schema.SOURCE_TABLES, 0)
        self._handles: dict[tuple[str, int | None], BinaryIO] = {}
        for (table, quarter), relative in output_files(layout, quarters).items():
            (out / relative).parent.mkdir(exist_ok=True)
            handle = open(out / relative, "wb")  # noqa: SIM115 - closed in close()
            handle.write(header(table, *table_style(table, messy)))
            self._handles[(table, quarter)] = handle
            self.files.append(relative)

    def encode(self, frame: Frame, rand: Random) -> tuple[Frame, pa.Array]:
        """The frame's CSV lines in its table's style (thread-safe: touches no file)."""
        return frame, encode_frame(frame, rand, *table_style(frame.table, self.messy))

    def write(self, frame: Frame, lines: pa.Array) -> None:
        """Append encoded lines to their table's file (split by quarter in the quarterly layout)."""
        self.rows[frame.table] += len(lines)
        if (frame.table, None) in self._handles:
            self._handles[(frame.table, None)].write(_joined(lines))
            return
        for quarter in np.unique(frame.quarter):
            in_quarter = pa.array(frame.quarter == quarter)
            self._handles[(frame.table, int(quarter))].write(_joined(lines.filter(in_quarter)))

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
