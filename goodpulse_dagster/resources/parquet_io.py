"""One Parquet IO manager for bronze and silver, on a local directory or S3.

Layout (lake_layout.py): ``<lake>/<layer>/<table>/<partition key>.parquet`` for partitioned assets
(one object per quarter) and ``<lake>/<layer>/<table>/data.parquet`` otherwise.

No table passes through Python (issue 17). The values are the two of ``resources/lake_data.py``:

* an asset returns a ``LakeOutput``: Parquet files DuckDB wrote in a scratch folder, one per
  partition key of the run (an empty one, with the schema, for a quarter without rows) or one
  for an unpartitioned table. The IO manager publishes each to its object (``LakeStore.publish``:
  a rename locally, an upload from disk on S3) and removes the scratch files. Publishing
  replaces the object, so re-materializing a partition never duplicates rows.
* an input is a ``LakeDataset`` over the objects of the partitions it reads (or the one object):
  DuckDB scans them in place, only the columns and row groups a query needs, on S3 through the
  registered filesystem. silver ``unified_user_lifecycle`` (27 columns) is read by seven gold,
  KPI and check steps that each use a few of its columns.

A run may cover several partitions (single-run backfills): the output holds one file per
partition key of the run.
"""

from __future__ import annotations

from dagster import ConfigurableIOManager, InputContext, OutputContext
from pydantic import Field

from goodpulse_dagster import lake_layout
from goodpulse_dagster.resources.lake_data import LakeDataset, LakeOutput
from goodpulse_dagster.resources.storage import LakeResource


class ParquetLakeIOManager(ConfigurableIOManager):
    lake: LakeResource = Field(default_factory=LakeResource)

    def handle_output(self, context: OutputContext, obj: LakeOutput) -> None:
        if obj is None:
            return
        if not isinstance(obj, LakeOutput):
            raise TypeError(
                f"{context.asset_key.to_user_string()}: a lake asset returns a LakeOutput "
                f"(Parquet files written by DuckDB), got {type(obj).__name__}"
            )
        store = self.lake.store()
        folder = lake_layout.asset_folder(context.asset_key.path)
        if context.has_asset_partitions:
            keys = sorted(context.asset_partition_keys)
            missing = [k for k in keys if k not in obj.files]
            if missing:
                raise ValueError(
                    f"{folder}: the output has no file for partition(s) {', '.join(missing)}"
                )
            for key in keys:
                store.publish(lake_layout.partition_object(folder, key), obj.files[key])
            uri = store.object_uri(lake_layout.partition_object(folder, keys[0]))
            context.add_output_metadata({"lake_uri": uri, "partitions_written": len(keys)})
        else:
            relpath = lake_layout.whole_object(folder)
            store.publish(relpath, obj.files[None])
            context.add_output_metadata({"lake_uri": store.object_uri(relpath)})
        obj.discard()
        self.lake.prune_output_folders(context.run_id)

    def load_input(self, context: InputContext) -> LakeDataset:
        store = self.lake.store()
        folder = lake_layout.asset_folder(context.asset_key.path)
        return self.lake.dataset(self._input_relpaths(context, store, folder))

    def _input_relpaths(self, context: InputContext, store, folder: str) -> list[str]:
        if not context.has_asset_partitions:
            return lake_layout.table_objects(folder, None)
        wanted = set(context.asset_partition_keys)
        present = {lake_layout.partition_key_of(p) for p in store.list(folder)}
        missing = sorted(wanted - present)
        if missing:
            # A quarter never materialized holds no rows yet (most future quarters of the
            # partitions definition); say so rather than fail the read.
            context.log.info(
                f"{folder}: {len(missing)} partition(s) not materialized yet, read as empty "
                f"(first: {missing[0]})"
            )
        if not wanted & present:
            raise FileNotFoundError(
                f"{store.object_uri(folder)}: no partition of this asset is materialized yet"
            )
        return lake_layout.table_objects(folder, sorted(wanted & present))
