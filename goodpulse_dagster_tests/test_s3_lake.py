"""The S3 path: the same bronze and silver materialization against a real S3 API on 127.0.0.1
(moto's server mode) writes the expected object keys and reads back what the local run wrote."""

import boto3

from goodpulse_dagster.resources.lake import S3LakeStore
from goodpulse_dagster.schema import PARTITIONED_TABLES, SOURCE_TABLES
from goodpulse_dagster_tests.pipeline import lake_settings, materialize_lake, read_lake
from goodpulse_dagster_tests.small_lake import write_small_landing_zone

BUCKET = "goodpulse-test"
QUARTER = "2017-04-01"


def _upload_dir(client, root, prefix):
    for path in sorted(root.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), BUCKET, f"{prefix}/{path.relative_to(root).as_posix()}")


def test_s3_lake_matches_the_local_lake(tmp_path, s3_endpoint):
    raw = write_small_landing_zone(tmp_path / "raw")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    _upload_dir(client, raw, "raw")

    local = lake_settings(tmp_path / "local", raw)
    s3 = lake_settings(
        tmp_path / "s3home",
        tmp_path / "unused",
        GOODPULSE_STORAGE="s3",
        GOODPULSE_S3_BUCKET=BUCKET,
        GOODPULSE_S3_ENDPOINT_URL=s3_endpoint,
    )
    assert materialize_lake(local, QUARTER).success
    assert materialize_lake(s3, QUARTER).success

    keys = {o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix="lake/")["Contents"]}
    expected = {f"lake/{layer}/{t}/{QUARTER}.parquet" for layer in ("bronze", "silver")
                for t in PARTITIONED_TABLES}  # fmt: skip
    expected |= {f"lake/silver/unified_user_lifecycle/{QUARTER}.parquet"}
    expected |= {f"lake/{layer}/{t}/data.parquet" for layer in ("bronze", "silver")
                 for t in SOURCE_TABLES if t not in PARTITIONED_TABLES}  # fmt: skip
    assert expected <= keys
    assert "lake/quarantine/geolocation/silver.parquet" in keys

    store = S3LakeStore(client, BUCKET, "lake")
    volatile = {"_ingested_at", "_source_file"}
    for relpath in sorted(k.removeprefix("lake/") for k in expected):
        from_s3 = store.read_table(relpath)
        from_local = read_lake(local, relpath)
        columns = [c for c in from_local.column_names if c not in volatile]
        assert from_s3.select(columns).equals(from_local.select(columns)), relpath
        if "_source_file" in from_s3.column_names and from_s3.num_rows:
            assert from_s3.column("_source_file")[0].as_py().startswith(f"s3://{BUCKET}/raw/")

    # The quarter's order-grain silver rows, read back from S3: o2 and o3 (2017-Q2).
    lifecycle = store.read_table(f"silver/unified_user_lifecycle/{QUARTER}.parquet")
    assert sorted(lifecycle.column("order_id").to_pylist()) == ["o2", "o3"]
