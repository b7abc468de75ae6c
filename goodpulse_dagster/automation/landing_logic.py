"""What the landing-zone sensor decides, without Dagster: which files are new, what to run.

The sensor (``sensors.py``) is a thin wrapper: it lists the landing zone (local directory or S3
prefix, the same ``LandingZone`` interface), calls ``new_objects`` and ``plan_runs`` from here, and
turns each ``PlannedRun`` into a ``RunRequest``. Keeping the decisions here lets the unit tests
check them on plain ``RawObject`` lists.

Cursor. A JSON object with the last-modified time and key of the newest file handled, plus the
version handled of every source file still in the landing zone. A file is new when its version
was not handled and it sorts after ``(modified, key)`` or falls in a look-back window before it.
The window matters on S3: ``LastModified`` has one-second resolution, and a multipart upload
carries the time the upload *started*, so an object can appear after the sensor already moved
past its timestamp. A version is the file's content (its SHA-256 locally, cached by size and
mtime; the ETag on S3): a changed file is handled again, the same bytes landed again are not.

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

from goodpulse_dagster.landing.zone import RawObject
from goodpulse_dagster.partitions import partition_key_for_label
from goodpulse_dagster.schema import SOURCE_TABLES

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
    """A file is new when its version was not handled and it sorts after the cursor (or falls
    in the look-back window). A version is the file's content (a hash locally, the ETag on S3),
    so the same bytes landed again with a new timestamp are not new."""
    if cursor.handled.get(obj.key) == obj.version:
        return False
    if (obj.modified, obj.key) > (cursor.modified, cursor.key):
        return True
    return obj.modified >= cursor.modified - lookback


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
    # Keep the versions of the files still in the landing zone (one entry per source file):
    # a file landed again, however much later, is compared with the version handled.
    present = {o.key for o in objects}
    return LandingCursor(
        modified=top[0],
        key=top[1],
        handled={k: v for k, v in sorted(versions.items()) if k in present},
    )


@dataclass(frozen=True)
class PlannedRun:
    """One run to request: the lake for one quarter (``partition_key``) or for a range of
    quarters in one run (``partition_range``, first and last key), or a refresh of the
    unpartitioned tables ``tables`` (bronze + silver) when neither is set.

    A lake run covers the order-grain tables of its quarters plus the dimension ``tables``
    whose files changed."""

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
    """The runs to request for new files: one lake run per tick at most, plus a dimension run
    when only dimension files are new.

    - per-quarter drops of order-grain tables (``orders/2017-Q1.csv``) for one quarter: that
      quarter, whatever the number of files dropped for it;
    - drops for several quarters (a first load of a per-quarter landing zone, 43 files): *one*
      run over the range first..last quarter (the lake assets have a single-run backfill
      policy), not one run per quarter: each run rebuilt the dimension tables and paid a
      process start, and nine such runs started at once (load average 23, 5.6 GB);
    - a full export of an order-grain table: every quarter ``order_quarters()`` names (called
      only when a full export is new; the sensor answers from the partitions, without parsing
      the export), as one run over the range; drops of the same tick join that run;
    - a file of a dimension table (full export or drop): bronze + silver of that table, folded
      into the lake run when there is one. A lake run rebuilds only the dimension tables whose
      files changed (``tables``): the others' lake objects are current, and rebuilding them made
      a one-quarter refresh at 1M orders cost as much as a full load (docs/performance.md).
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
    keys = sorted({*export_quarters, *by_partition})
    if keys:
        files = [*exports, *(v for vs in by_partition.values() for v in vs), *dimension_files]
        first, last = keys[0], keys[-1]
        target = f"lake/{first}" if first == last else f"lake/{first}..{last}"
        runs.append(
            PlannedRun(
                run_key=run_key(target, files),
                files=tuple(sorted(set(files))),
                partition_key=first if first == last else None,
                partition_range=None if first == last else (first, last),
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
