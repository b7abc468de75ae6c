"""What the landing-zone sensor decides, without Dagster: which files are new, what to run.

The sensor (``sensors.py``) is a thin wrapper: it lists the landing zone (local directory or S3
prefix, the same ``LandingZone`` interface), calls ``new_objects`` and ``plan_runs`` from here, and
turns each ``PlannedRun`` into a ``RunRequest``. Keeping the decisions here lets the unit tests
check them on plain ``RawObject`` lists.

Cursor. A JSON object with the last-modified time and key of the newest file handled, plus the
versions of the files handled within a look-back window before it. A file is new when it sorts
after ``(modified, key)``, or when it falls in the window and its version was not handled. The
window matters on S3: ``LastModified`` has one-second resolution, and a multipart upload carries
the time the upload *started*, so an object can appear after the sensor already moved past its
timestamp. A changed file gets a new version (ETag on S3, mtime+size locally) and a newer
timestamp, so it is handled again.

Run keys. Every run key names the target and the file versions behind it, so Dagster never
launches the same run twice for one file version (a repeated tick, a reset cursor) and launches
a new one when a file changes.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

from goodpulse_dagster.partitions import partition_key_for_label
from goodpulse_dagster.schema import SOURCE_TABLES
from goodpulse_dagster.sources.landing import RawObject

# Files whose timestamp is at most this much older than the cursor are looked at again (and
# skipped when their version was handled). One hour covers long multipart uploads.
LOOKBACK_SECONDS = 3600.0


@dataclass(frozen=True)
class LandingCursor:
    modified: float = 0.0
    key: str = ""
    # key -> version of the files handled with a timestamp inside the look-back window.
    handled: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {"modified": self.modified, "key": self.key, "handled": self.handled},
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | None) -> LandingCursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            modified=float(data.get("modified", 0.0)),
            key=str(data.get("key", "")),
            handled={str(k): str(v) for k, v in data.get("handled", {}).items()},
        )


def version_id(obj: RawObject) -> str:
    """``key@version``: one file version, the unit a run key is made of."""
    return f"{obj.key}@{obj.version}"


def is_new(obj: RawObject, cursor: LandingCursor, lookback: float = LOOKBACK_SECONDS) -> bool:
    if (obj.modified, obj.key) > (cursor.modified, cursor.key):
        return True
    in_window = obj.modified >= cursor.modified - lookback
    return in_window and cursor.handled.get(obj.key) != obj.version


def new_objects(
    objects: Iterable[RawObject], cursor: LandingCursor, lookback: float = LOOKBACK_SECONDS
) -> list[RawObject]:
    """Source files (a known table) not handled yet, oldest first. Other files are ignored."""
    fresh = [o for o in objects if o.table is not None and is_new(o, cursor, lookback)]
    return sorted(fresh, key=lambda o: (o.modified, o.key))


def advance_cursor(
    cursor: LandingCursor,
    objects: Iterable[RawObject],
    handled: Iterable[RawObject],
    lookback: float = LOOKBACK_SECONDS,
) -> LandingCursor:
    """The cursor after ``handled`` were handled; ``objects`` is the whole current listing."""
    handled = list(handled)
    if not handled:
        return cursor
    newest = max(handled, key=lambda o: (o.modified, o.key))
    top = max((cursor.modified, cursor.key), (newest.modified, newest.key))
    versions = dict(cursor.handled)
    versions.update({o.key: o.version for o in handled})
    # Keep only what the window can still see, so the cursor stays small.
    recent = {o.key for o in objects if o.modified >= top[0] - lookback}
    return LandingCursor(
        modified=top[0],
        key=top[1],
        handled={k: v for k, v in sorted(versions.items()) if k in recent},
    )


@dataclass(frozen=True)
class PlannedRun:
    """One run to request: the lake for one quarter (``partition_key``) or for a range of
    quarters in one run (``partition_range``, first and last key), or a refresh of the
    unpartitioned tables ``tables`` (bronze + silver) when neither is set.

    A one-quarter run covers the order-grain tables of that quarter plus the dimension
    ``tables`` whose files changed; a range run (a full export) covers every lake table."""

    run_key: str
    files: tuple[str, ...]  # key@version of the files behind the run
    partition_key: str | None = None
    partition_range: tuple[str, str] | None = None
    tables: tuple[str, ...] = ()

    @property
    def is_lake_run(self) -> bool:
        return self.partition_key is not None or self.partition_range is not None


@dataclass(frozen=True)
class LandingPlan:
    runs: list[PlannedRun]
    # Human-readable notes on files that lead to no run (unknown quarter, no orders yet).
    skipped: list[str]


def run_key(target: str, files: Sequence[str]) -> str:
    """``<target>:<key>@<version>`` for one file; a digest of the sorted versions for several
    (a full export can touch every quarter with a dozen files)."""
    files = sorted(set(files))
    if len(files) == 1:
        return f"{target}:{files[0]}"
    digest = hashlib.sha256("\n".join(files).encode()).hexdigest()[:16]
    return f"{target}:{len(files)}-files-{digest}"


def plan_runs(
    fresh: Sequence[RawObject],
    order_quarters: Callable[[], Iterable[str]],
    valid_partitions: Collection[str],
) -> LandingPlan:
    """The runs to request for new files.

    - a per-quarter drop of an order-grain table (``orders/2017-Q1.csv``): that quarter, one run
      per quarter whatever the number of files dropped for it;
    - a full export of an order-grain table: every quarter that holds orders, from
      ``order_quarters()`` (called only when a full export is new): the quarters of the orders
      table, since items, payments and reviews take their order's quarter. They are requested as
      *one* run over the range first..last quarter (the lake assets have a single-run backfill
      policy): each file is parsed and each dimension table written once, not once per quarter,
      and an empty quarter inside the range is a valid, empty partition. Drops of the same tick
      join that run;
    - a file of a dimension table (full export or drop): bronze + silver of that table, folded
      into the lake runs when there are any. A quarter's run rebuilds only the dimension tables
      whose files changed (``tables``): the others' lake objects are current, and rebuilding
      them made a one-quarter refresh at 1M orders cost as much as a full load
      (docs/performance.md).
    """
    by_partition: dict[str, list[str]] = defaultdict(list)
    exports: list[str] = []
    dimension_files: list[str] = []
    dimension_tables: set[str] = set()
    skipped: list[str] = []

    for obj in fresh:
        table = SOURCE_TABLES[obj.table]
        vid = version_id(obj)
        if not table.partitioned:
            dimension_files.append(vid)
            dimension_tables.add(table.name)
        elif obj.quarter is None:
            exports.append(vid)
        else:
            key = partition_key_for_label(obj.quarter)
            if key in valid_partitions:
                by_partition[key].append(vid)
            else:
                skipped.append(f"{obj.key}: quarter {key} is not a partition (yet)")

    export_quarters: list[str] = []
    if exports:
        quarters = sorted(set(order_quarters()))
        export_quarters = [q for q in quarters if q in valid_partitions]
        for q in sorted(set(quarters) - set(export_quarters)):
            skipped.append(f"orders of quarter {q} are outside the partitions")
        if not quarters:
            skipped.extend(
                f"{v.rsplit('@', 1)[0]}: no order with a purchase quarter in the landing zone"
                for v in exports
            )

    runs: list[PlannedRun] = []
    if export_quarters:
        keys = sorted({*export_quarters, *by_partition})
        files = [*exports, *(v for vs in by_partition.values() for v in vs), *dimension_files]
        first, last = keys[0], keys[-1]
        runs.append(
            PlannedRun(
                run_key=run_key(f"lake/{first}..{last}", files),
                files=tuple(sorted(set(files))),
                partition_range=(first, last),
            )
        )
    else:
        for key, files in sorted(by_partition.items()):
            files = [*files, *dimension_files]
            runs.append(
                PlannedRun(
                    run_key=run_key(f"lake/{key}", files),
                    files=tuple(sorted(set(files))),
                    partition_key=key,
                    tables=tuple(sorted(dimension_tables)),
                )
            )
    if dimension_files and not runs:
        runs.append(
            PlannedRun(
                run_key=run_key("dimensions", dimension_files),
                files=tuple(sorted(set(dimension_files))),
                tables=tuple(sorted(dimension_tables)),
            )
        )
    return LandingPlan(runs=runs, skipped=skipped)
