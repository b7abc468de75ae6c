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


def _wide_parquet(path, rows):
    """A Parquet file of several row groups and columns (DuckDB's default compression): DuckDB
    prefetches its column chunks from more than one thread."""
    import duckdb

    hashes = ", ".join(f"md5((i * {k})::VARCHAR) AS h{k}" for k in range(1, 7))
    duckdb.sql(f"COPY (SELECT i, {hashes} FROM range({rows}) t(i)) TO '{path}' (FORMAT parquet)")
    return path


def test_duckdb_reads_a_large_lake_object_on_s3_byte_for_byte(tmp_path, s3_endpoint):
    # Before the fix every read of a 40 MB bronze table on S3 could fail with "ZSTD
    # Decompression failure": DuckDB's threads shared one file position (s3_filesystem.py).
    import duckdb

    from goodpulse_dagster.resources.s3_filesystem import register_filesystem, s3_filesystem

    local = _wide_parquet(tmp_path / "wide.parquet", 500_000)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    client.upload_file(str(local), BUCKET, "lake/bronze/wide/data.parquet")
    sql = "SELECT count(*), sum(i), {} FROM read_parquet('{}')"
    digests = ", ".join(f"sum(hash(h{k}))" for k in range(1, 7))
    con = duckdb.connect()
    con.execute("SET threads = 4")
    [expected] = con.execute(sql.format(digests, local)).fetchall()
    assert expected[:2] == (500_000, 500_000 * 499_999 // 2)
    register_filesystem(con, s3_filesystem(s3_endpoint, "us-east-1", 3))
    uri = f"s3://{BUCKET}/lake/bronze/wide/data.parquet"
    for _ in range(3):
        assert con.execute(sql.format(digests, uri)).fetchall() == [expected]


def test_a_lake_file_keeps_each_threads_position_apart(tmp_path):
    import threading

    import pyarrow as pa

    from goodpulse_dagster.resources.s3_filesystem import PositionalReadFile

    data = bytes(range(256)) * 4096  # 1 MiB: byte i is i % 256
    (tmp_path / "blob").write_bytes(data)
    lake_file = PositionalReadFile(pa.OSFile(str(tmp_path / "blob")), "blob")
    wrong = []

    def reader(start):
        for offset in range(start, len(data) - 4096, 65_537):
            lake_file.seek(offset)
            if lake_file.read(4096) != data[offset : offset + 4096] or lake_file.tell() != (
                offset + 4096
            ):
                wrong.append(offset)

    threads = [threading.Thread(target=reader, args=(s,)) for s in (0, 1, 2, 3, 5, 8, 13, 21)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    assert lake_file.seek(-10, 2) == len(data) - 10
    assert lake_file.read() == data[-10:]
    assert lake_file.read(5) == b""  # at the end
    lake_file.close()
