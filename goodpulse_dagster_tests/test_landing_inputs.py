"""Landing-zone inputs and bronze parsing give trustworthy numbers (issue 14).

- compressed and zipped exports (``.csv.gz`` full exports and quarter drops, the Kaggle ``.zip``
  locally and on S3) give exactly the rows of the plain files;
- nothing is skipped silently: unknown files and refused symlinks are named in a warning, the
  bronze metadata, the run log and a WARN check;
- symlinks leading outside the landing zone are refused;
- encodings: UTF-8 (BOM or not) as it is; cp1252 / latin-1 detected, transcoded and named; a
  forced encoding that does not fit fails naming file, physical line and byte;
- quarantine lines are the physical lines an editor shows, after quoted newlines too;
- whole-number columns do not round: '4.5' is quarantined, never loaded as 5.
"""

import dataclasses
import gzip
import os
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

import boto3
import pyarrow as pa
import pytest
from dagster import AssetCheckSeverity, AssetKey, AssetSelection, DagsterInstance

from goodpulse_dagster.bronze import parsing as bronze
from goodpulse_dagster.bronze import staging
from goodpulse_dagster.bronze.parsing import SourceSchemaError, ingest_file
from goodpulse_dagster.bronze.staging import build_bronze
from goodpulse_dagster.definitions import build_resources
from goodpulse_dagster.errors import UserInputError, UserSettingsError
from goodpulse_dagster.landing.zone import (
    LocalLandingZone,
    S3LandingZone,
    unrecognised_warning,
)
from goodpulse_dagster.schema import SOURCE_TABLES
from goodpulse_dagster.settings import load_settings
from goodpulse_dagster_tests.rawdata import write_landing_zone, write_table
from goodpulse_dagster_tests.test_checks import clean_tables, evaluations, meta, run, settings_for

OLIST_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "olist_sample"
needs_sample = pytest.mark.skipif(not OLIST_SAMPLE.is_dir(), reason="no real Olist sample")
VOLATILE = ("_source_file", "_ingested_at")
NOW = datetime(2026, 1, 1)


def file_of(table: str) -> str:
    return SOURCE_TABLES[table].file_name


def content(table: pa.Table) -> list[dict]:
    """The rows without the ingestion columns, in a stable order."""
    rows = table.drop_columns([c for c in VOLATILE if c in table.column_names]).to_pylist()
    return sorted(rows, key=repr)


def bronze_rows(zone, table: str, staging_dir: Path) -> list[dict]:
    return content(build_bronze(table, zone, staging_dir).table)


def gzip_file(path: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "rb") as src, gzip.open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return target


def zip_dir(root: Path, target: Path, folder: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                zf.write(path, folder + path.relative_to(root).as_posix())
    return target


def sellers_csv(path: Path, body: bytes) -> Path:
    """A sellers file: the Kaggle header, then ``body`` as raw bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(",".join(SOURCE_TABLES["sellers"].columns).encode() + b"\n" + body)
    return path


# --- 1. Compressed and zipped exports -------------------------------------------------------------


@needs_sample
def test_a_zip_of_the_real_sample_gives_the_same_bronze_tables(tmp_path):
    # The members sit in a folder, as in an archive made by zipping the export folder.
    raw = tmp_path / "zipped"
    raw.mkdir()
    zip_dir(OLIST_SAMPLE, raw / "brazilian-ecommerce.zip", folder="archive/")
    plain, zipped = LocalLandingZone(OLIST_SAMPLE), LocalLandingZone(raw)
    for table in SOURCE_TABLES:
        expected = build_bronze(table, plain, tmp_path / "st_plain")
        got = build_bronze(table, zipped, tmp_path / "st_zip")
        assert got.table.num_rows == expected.table.num_rows > 0, table
        assert content(got.table) == content(expected.table), table
        assert got.quarantine.num_rows == expected.quarantine.num_rows, table
        [member] = {f.uri for f in got.files}
        assert member == f"{raw}/brazilian-ecommerce.zip!/archive/{file_of(table)}"
    # Members are staged by content hash: the zipped files are the very same staged copies.
    assert {f.content_hash for f in build_bronze("orders", zipped, tmp_path / "st_zip").files} == {
        f.content_hash for f in build_bronze("orders", plain, tmp_path / "st_plain").files
    }
    assert unrecognised_warning(zipped) is not None  # the sample's README.md inside the zip
    assert "brazilian-ecommerce.zip!/archive/README.md (unknown file name)" in (
        unrecognised_warning(zipped)
    )


@needs_sample
def test_a_gzipped_full_export_gives_the_rows_of_the_plain_file(tmp_path):
    raw = tmp_path / "raw"
    gzip_file(OLIST_SAMPLE / file_of("orders"), raw / f"{file_of('orders')}.gz")
    rows = bronze_rows(LocalLandingZone(raw), "orders", tmp_path / "st")
    assert len(rows) == 8135
    assert rows == bronze_rows(LocalLandingZone(OLIST_SAMPLE), "orders", tmp_path / "st2")


def _quarter_drops(raw: Path, compress: bool) -> Path:
    """The clean orders and items as per-quarter drops (plain or .csv.gz)."""
    tables = clean_tables()
    by_quarter = {"2017-Q1": ("o1", "o2"), "2017-Q2": ("o3", "o4", "o5")}
    for table in ("orders", "order_items"):
        for quarter, ids in by_quarter.items():
            rows = [r for r in tables[table] if r["order_id"] in ids]
            path = write_table(raw / table / f"{quarter}.csv", table, rows)
            if compress:
                gzip_file(path, path.with_name(path.name + ".gz"))
                path.unlink()
    return raw


def test_gzipped_quarter_drops_give_the_rows_of_plain_drops(tmp_path):
    plain = LocalLandingZone(_quarter_drops(tmp_path / "plain", compress=False))
    gz = LocalLandingZone(_quarter_drops(tmp_path / "gz", compress=True))
    assert [o.key for o in gz.source_objects("orders")] == [
        "orders/2017-Q1.csv.gz",
        "orders/2017-Q2.csv.gz",
    ]
    assert [o.quarter for o in gz.source_objects("orders")] == ["2017-Q1", "2017-Q2"]
    for table in ("orders", "order_items"):
        expected = bronze_rows(plain, table, tmp_path / "st_plain")
        assert len(expected) == 5
        assert bronze_rows(gz, table, tmp_path / "st_gz") == expected
    assert unrecognised_warning(gz) is None
    # Rejected lines of a compressed file are numbered like those of the plain one.
    for raw in (tmp_path / "plain", tmp_path / "gz"):
        path = raw / "orders" / "2017-Q2.csv"
        if raw.name == "gz":
            path = path.with_name("late.csv")
        write_table(path, "orders", clean_tables()["orders"][:1])
        with open(path, "a") as fh:
            fh.write("o9,c9,delivered,2017-02-30 10:00:00,,,,\n")
        if raw.name == "gz":
            gzip_file(path, raw / "orders" / "2017-Q3.csv.gz")
            path.unlink()
    plain_q = build_bronze("orders", plain, tmp_path / "st_plain2").quarantine.to_pylist()
    gz_q = build_bronze("orders", gz, tmp_path / "st_gz2").quarantine.to_pylist()
    assert [(r["rule"], r["source_line"]) for r in gz_q] == [("unparseable", 3)]
    assert [(r["rule"], r["source_line"]) for r in plain_q] == [("unparseable", 3)]


def test_a_corrupt_gzip_file_fails_naming_it(tmp_path):
    raw = write_landing_zone(tmp_path / "raw", clean_tables())
    path = raw / "sellers" / "2017-Q1.csv.gz"
    path.parent.mkdir()
    path.write_bytes(gzip.compress(b"seller_id,x\n")[:12])
    with pytest.raises(SourceSchemaError) as error:
        build_bronze("sellers", LocalLandingZone(raw), tmp_path / "st")
    assert str(error.value).startswith(f"{path}: cannot be decompressed (")
    assert str(error.value).endswith("Replace it with a complete .csv.gz file and run again.")


def test_a_zip_on_s3_is_fetched_to_the_cache_and_unpacked(tmp_path, s3_endpoint):
    raw = write_landing_zone(tmp_path / "raw", clean_tables())
    archive = zip_dir(raw, tmp_path / "olist.zip")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="landing-test")
    client.upload_file(str(archive), "landing-test", "raw/drops/olist.zip")
    zone = S3LandingZone(client, "landing-test", "raw", tmp_path / "cache")
    build = build_bronze("orders", zone, tmp_path / "st")
    assert content(build.table) == bronze_rows(LocalLandingZone(raw), "orders", tmp_path / "st2")
    assert [f.uri for f in build.files] == [
        f"s3://landing-test/raw/drops/olist.zip!/{file_of('orders')}"
    ]
    assert build.table.column("_source_file")[0].as_py() == build.files[0].uri
    assert list((tmp_path / "cache").rglob("olist.zip"))  # fetched once into the cache


# --- 2. and 3. Nothing skipped silently; symlinks -------------------------------------------------


def test_unrecognised_files_are_named_in_one_warning(tmp_path):
    raw = write_landing_zone(tmp_path / "raw", clean_tables())
    for name in ("olist_orders_dataset (1).csv", "orders.xlsx", "notes.txt"):
        (raw / name).write_text("x")
    (raw / "orders" / "late.txt").parent.mkdir()
    (raw / "orders" / "late.txt").write_text("x")
    # Hidden files are ignored without a warning.
    for name in (".DS_Store", "_generation_report.json"):
        (raw / name).write_text("x")
    zone = LocalLandingZone(raw)
    assert unrecognised_warning(zone) == (
        f"4 file(s) in the landing zone {raw} are not read: "
        f"{raw}/notes.txt (unknown file name); "
        f"{raw}/olist_orders_dataset (1).csv (unknown file name); "
        f"{raw}/orders.xlsx (unknown file name); "
        f"{raw}/orders/late.txt (unknown file name); "
        "rename each to a Kaggle file name (e.g. olist_orders_dataset.csv) or to "
        "<table>/<YYYY>-Q<n>.csv (plain, .csv.gz or inside a .zip), copy a linked file into the "
        "landing zone instead of linking it, or remove it."
    )
    assert unrecognised_warning(LocalLandingZone(write_landing_zone(tmp_path / "ok", {}))) is None


def test_symlinks_outside_the_landing_zone_are_refused_inside_are_read(tmp_path):
    outside = write_landing_zone(tmp_path / "elsewhere", clean_tables())
    raw = write_landing_zone(tmp_path / "raw", clean_tables())
    (raw / file_of("sellers")).unlink()
    (raw / file_of("sellers")).symlink_to(outside / file_of("sellers"))  # a file outside
    (raw / "orders").symlink_to(outside, target_is_directory=True)  # a folder outside
    (raw / "archive").mkdir()
    os.replace(raw / file_of("customers"), raw / "archive" / file_of("customers"))
    (raw / "linked").symlink_to(raw / "archive", target_is_directory=True)  # inside: followed
    (raw / "gone.csv").symlink_to(tmp_path / "nothing.csv")
    zone = LocalLandingZone(raw)
    assert zone.source_objects("sellers") == []
    assert [o.key for o in zone.source_objects("orders")] == [file_of("orders")]
    with pytest.raises(staging.SourceMissingError, match="no source file for table 'sellers'"):
        build_bronze("sellers", zone, tmp_path / "st")
    assert unrecognised_warning(zone) == (
        f"5 file(s) in the landing zone {raw} are not read: "
        f"{raw}/archive/{file_of('customers')} (unknown file name); "
        f"{raw}/linked/{file_of('customers')} (unknown file name); "
        f"{raw}/gone.csv (broken symlink to {tmp_path / 'nothing.csv'}); "
        f"{raw}/{file_of('sellers')} (symlink to {outside / file_of('sellers')}, outside the "
        "landing zone); "
        f"{raw}/orders (symlink to {outside}, outside the landing zone); "
        "rename each to a Kaggle file name (e.g. olist_orders_dataset.csv) or to "
        "<table>/<YYYY>-Q<n>.csv (plain, .csv.gz or inside a .zip), copy a linked file into the "
        "landing zone instead of linking it, or remove it."
    )
    # A symlink inside the root is followed: a drop folder linked to another folder of the zone.
    (raw / "customers").symlink_to(raw / "archive", target_is_directory=True)
    assert [o.key for o in zone.source_objects("customers")] == [
        f"customers/{file_of('customers')}"
    ]
    assert build_bronze("customers", zone, tmp_path / "st").table.num_rows == 5


def test_unrecognised_files_reach_the_bronze_metadata_the_log_and_a_warn_check(tmp_path):
    raw = write_landing_zone(tmp_path / "raw", clean_tables())
    (raw / "olist_sellers_dataset (1).csv").write_text("x")
    settings = settings_for(tmp_path / "home", raw)
    instance = DagsterInstance.ephemeral()
    result = run(settings, AssetSelection.assets(AssetKey(["bronze", "sellers"])), instance)
    assert result.success
    [event] = result.get_asset_materialization_events()
    metadata = event.step_materialization_data.materialization.metadata
    stray = f"{raw}/olist_sellers_dataset (1).csv (unknown file name)"
    assert metadata["unrecognised_files"].value == f"- `{stray}`"
    assert metadata["unrecognised_file_count"].value == 1
    warnings = [
        e.user_message
        for e in instance.all_logs(result.run_id)
        if e.level == 30 and "not read" in e.user_message
    ]
    assert warnings == [f"bronze/sellers: not read (unknown name or refused): {stray}"]
    check = evaluations(result)[("bronze/sellers", "landing_zone_files_recognised")]
    assert not check.passed and check.severity == AssetCheckSeverity.WARN
    assert meta(check)["unrecognised_files"] == 1
    assert meta(check)["examples"] == f"- {stray}"


# --- 4. Encodings ------------------------------------------------------------------------------

CP1252_BODY = "s1,01001,são paulo,SP\ns2,20000,niterói – centro,RJ\n".encode("cp1252")


def test_utf8_with_or_without_bom_is_read_as_it_is(tmp_path):
    text = "s1,01001,são paulo,SP\n".encode()
    for bom in (b"", b"\xef\xbb\xbf"):
        raw = tmp_path / f"raw{len(bom)}"
        path = sellers_csv(raw / file_of("sellers"), b"")
        path.write_bytes(bom + path.read_bytes() + text)
        build = build_bronze("sellers", LocalLandingZone(raw), tmp_path / f"st{len(bom)}")
        assert build.table.column("seller_city").to_pylist() == ["são paulo"]
        assert build.encodings == {str(path): "utf-8"}


def test_a_cp1252_file_is_detected_transcoded_and_named(tmp_path):
    raw = tmp_path / "raw"
    path = sellers_csv(raw / file_of("sellers"), CP1252_BODY)
    build = build_bronze("sellers", LocalLandingZone(raw), tmp_path / "st")
    assert build.table.column("seller_city").to_pylist() == ["são paulo", "niterói – centro"]
    assert build.encodings == {str(path): "cp1252"}
    assert not list((tmp_path / "st" / "_utf8").iterdir())  # the transcoded copy is removed
    # Forced, it reads the same.
    forced = build_bronze("sellers", LocalLandingZone(raw, "cp1252"), tmp_path / "st")
    assert content(forced.table) == content(build.table)


def test_bytes_cp1252_does_not_define_fall_back_to_latin1(tmp_path):
    raw = tmp_path / "raw"
    # 0x81 is undefined in cp1252; in latin-1 it is a (control) character, 0xE9 is 'é'.
    path = sellers_csv(raw / file_of("sellers"), b"s1,01001,jacare\xed\x81,SP\n")
    build = build_bronze("sellers", LocalLandingZone(raw), tmp_path / "st")
    assert build.table.column("seller_city").to_pylist() == ["jacareí\x81"]
    assert build.encodings == {str(path): "latin-1"}


def test_a_forced_encoding_that_does_not_fit_names_file_line_and_byte(tmp_path):
    raw = tmp_path / "raw"
    # A quoted field with a newline before the bad byte: the line is the physical line (4).
    body = b's1,01001,"two\nlines",SP\n' + CP1252_BODY
    path = sellers_csv(raw / file_of("sellers"), body)
    with pytest.raises(SourceSchemaError) as error:
        build_bronze("sellers", LocalLandingZone(raw, "utf-8"), tmp_path / "st")
    offset = path.read_bytes().index(b"\xe3")
    assert str(error.value) == (
        f"{path}: line 4 holds the byte(s) 0xE3 (byte offset {offset}), which is not valid "
        "utf-8 (GOODPULSE_CSV_ENCODING=utf-8). Set GOODPULSE_CSV_ENCODING to the file's "
        "encoding (e.g. GOODPULSE_CSV_ENCODING=cp1252, or auto to detect it) and run again."
    )
    assert isinstance(error.value, UserInputError)
    sellers_csv(path, b"s1,01001,x\x81,SP\n")
    with pytest.raises(
        SourceSchemaError, match=r"line 2 holds the byte\(s\) 0x81 .* not valid cp1252"
    ):
        build_bronze("sellers", LocalLandingZone(raw, "cp1252"), tmp_path / "st")


def test_detection_streams_in_blocks_across_multibyte_characters(tmp_path, monkeypatch):
    monkeypatch.setattr(bronze, "BLOCK_SIZE", 5)  # 'ã' (2 bytes) straddles blocks
    path = sellers_csv(tmp_path / "s.csv", "s1,01001,são paulo,SP\n".encode() * 7)
    assert bronze.detect_encoding(path, "s.csv") == "utf-8"
    path.write_bytes(path.read_bytes()[:-4] + b"\xc3")  # cut inside a character at the end
    assert bronze.first_decode_failure(path, "utf-8").line == 8
    assert bronze.detect_encoding(path, "s.csv") == "cp1252"


def test_the_encoding_setting_reaches_the_landing_zone(tmp_path):
    settings = load_settings({"GOODPULSE_HOME": str(tmp_path), "GOODPULSE_CSV_ENCODING": "cp1252"})
    assert settings.csv_encoding == "cp1252"
    assert build_resources(settings)["landing"].zone().encoding == "cp1252"
    assert load_settings({"GOODPULSE_HOME": str(tmp_path)}).csv_encoding == "auto"
    with pytest.raises(UserSettingsError, match="GOODPULSE_CSV_ENCODING must be 'auto' or"):
        load_settings({"GOODPULSE_HOME": str(tmp_path), "GOODPULSE_CSV_ENCODING": "klingon"})


# --- 5. Physical line numbers ---------------------------------------------------------------------

REVIEW_HEADER = ",".join(SOURCE_TABLES["order_reviews"].columns)


def reviews_csv(raw: Path, *records: str) -> Path:
    path = raw / file_of("order_reviews")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(REVIEW_HEADER + "\n" + "".join(r + "\n" for r in records), newline="")
    return path


def test_rejected_rows_carry_the_physical_line_after_quoted_newlines(tmp_path):
    path = reviews_csv(
        tmp_path,
        'r1,o1,5,,"great\nproduct,\n\nthanks",2017-02-20 00:00:00,2017-02-21 00:00:00',  # lines 2-5
        "r2,o2,4,,,2017-03-13 00:00:00",  # line 6: a field short
        "r3,o3,3,,,someday,2017-04-22 00:00:00",  # line 7: no timestamp
    )
    result = ingest_file(SOURCE_TABLES["order_reviews"], path, "reviews.csv", NOW)
    assert [(r["rule"], r["source_line"]) for r in result.rejected.to_pylist()] == [
        ("malformed", 6),
        ("unparseable", 7),
    ]
    assert result.rejected.column("reason")[1].as_py().startswith("line 7: Error when converting")
    assert result.valid.column("review_comment_message").to_pylist() == [
        "great\nproduct,\n\nthanks"
    ]


@needs_sample
def test_real_reviews_quarantine_the_physical_lines_an_editor_shows(tmp_path):
    """The real reviews hold comments with newlines: DuckDB's record numbers drift from the
    lines an editor shows after the first of them (line 10-11)."""
    lines = (OLIST_SAMPLE / file_of("order_reviews")).read_text(encoding="utf-8").split("\n")
    # Two one-line records without comments after a few multi-line ones: line numbers 1-based.
    simple = [n for n, line in enumerate(lines, 1) if n > 45 and line.count(",") == 6][:2]
    fields = lines[simple[0] - 1].split(",")
    lines[simple[0] - 1] = ",".join([*fields[:2], "4.5", *fields[3:]])  # not a whole number
    lines[simple[1] - 1] = ",".join(lines[simple[1] - 1].split(",")[:5])  # cut short
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / file_of("order_reviews")).write_text("\n".join(lines), encoding="utf-8")
    path = raw / file_of("order_reviews")
    build = ingest_file(SOURCE_TABLES["order_reviews"], path, str(path), NOW)
    rejected = {r["source_line"]: r for r in build.rejected.to_pylist()}
    assert set(rejected) == set(simple)
    assert rejected[simple[0]]["reason"] == (
        f'line {simple[0]}: column "review_score": "4.5" is not a whole number'
    )
    assert rejected[simple[1]]["reason"].startswith(f"line {simple[1]}: Expected Number of")
    assert build.valid.num_rows == 8225 - 2
    assert 4.5 not in build.valid.column("review_score").to_pylist()


def test_physical_lines_and_record_index_stream_in_blocks(tmp_path, monkeypatch):
    path = tmp_path / "x.csv"
    path.write_bytes(b'a,b\n1,"x\n\ny"\n\n2,z\r\n3,"q""\n"\n4,w')
    expected_lines = [1, 2, 6, 7, 9]  # header, records 1-4 (a blank line 5 is no record)
    for block in (1 << 22, 3):
        monkeypatch.setattr(bronze, "BLOCK_SIZE", block)
        index = bronze.record_index(path)
        assert index.lines.tolist() == expected_lines
        assert index.starts.tolist() == [0, 4, 14, 19, 28]
        assert bronze.physical_lines(path, [31, 0, 16, 4]) == [9, 1, 6, 2]


# --- 6. Whole-number columns --------------------------------------------------------------------


def test_a_value_that_is_not_a_whole_number_is_quarantined_not_rounded(tmp_path):
    path = reviews_csv(
        tmp_path,
        'r1,o1,5,,"line one\nline two",2017-02-20 00:00:00,2017-02-21 00:00:00',  # lines 2-3
        "r2,o2,4.5,,,2017-03-13 00:00:00,2017-03-14 00:00:00",  # line 4
        "r3,o3,3,,,2017-04-21 00:00:00",  # line 5: DuckDB rejects it (a field short)
        "r4,o4,5.0,,,2017-05-02 00:00:00,2017-05-03 00:00:00",  # line 6: a whole number
        "r5,o5,five,,,2017-05-21 00:00:00,2017-05-22 00:00:00",  # line 7
        "r6,o6,99999999999,,,2017-05-21 00:00:00,2017-05-22 00:00:00",  # line 8
        "r7,o7,,,,2017-05-21 00:00:00,2017-05-22 00:00:00",  # line 9: empty is NULL
    )
    result = ingest_file(SOURCE_TABLES["order_reviews"], path, "reviews.csv", NOW)
    assert result.valid.column("review_id").to_pylist() == ["r1", "r4", "r7"]
    assert result.valid.column("review_score").to_pylist() == [5, 5, None]
    assert result.valid.schema.field("review_score").type == pa.int32()
    rejected = [
        (r["rule"], r["source_line"], r["reason"], r["source_file"])
        for r in result.rejected.to_pylist()
    ]
    assert rejected == [
        ("unparseable", 4, 'line 4: column "review_score": "4.5" is not a whole number',
         "reviews.csv"),
        ("malformed", 5, "line 5: Expected Number of Columns: 7 Found: 6", "reviews.csv"),
        ("unparseable", 7, 'line 7: column "review_score": "five" is not a whole number',
         "reviews.csv"),
        ("unparseable", 8, 'line 8: column "review_score": "99999999999" is a whole number '
         "out of the range of INTEGER", "reviews.csv"),
    ]  # fmt: skip
    assert result.rejected.column("record")[0].as_py().startswith('{"review_id":"r2"')
    assert result.record_count == 7


def test_several_whole_number_columns_are_checked_together(tmp_path):
    raw = tmp_path / "raw"
    header = ",".join(SOURCE_TABLES["order_payments"].columns)
    (raw).mkdir()
    (raw / file_of("order_payments")).write_text(
        header + "\no1,1,credit_card,2,10.00\no1,1.5,voucher,2.5,3.00\no2,1,boleto,1,5.00\n"
    )
    result = ingest_file(
        SOURCE_TABLES["order_payments"], raw / file_of("order_payments"), "p.csv", NOW
    )
    assert result.valid.column("payment_sequential").to_pylist() == [1, 1]
    [row] = result.rejected.to_pylist()
    assert (row["source_line"], row["reason"]) == (
        3,
        'line 3: column "payment_sequential": "1.5" is not a whole number; '
        'column "payment_installments": "2.5" is not a whole number',
    )


def test_decimal_columns_are_typed_and_nan_is_unparseable(tmp_path):
    """Money columns may become DECIMAL(18,2) (schema.py): the bronze code is type-generic."""
    items = SOURCE_TABLES["order_items"]
    decimal_items = dataclasses.replace(
        items, columns={**items.columns, "price": "DECIMAL(18,2)", "freight_value": "DECIMAL(18,2)"}
    )
    path = tmp_path / "items.csv"
    path.write_text(
        ",".join(items.columns) + "\n"
        "o1,1,p1,s1,2017-02-13 00:00:00,10.50,1.25\n"
        "o1,2,p1,s1,2017-02-13 00:00:00,NaN,1.00\n"
        "o2,1.5,p1,s1,2017-02-13 00:00:00,inf,1.00\n"
    )
    result = ingest_file(decimal_items, path, "items.csv", NOW)
    assert result.valid.schema.field("price").type == pa.decimal128(18, 2)
    assert [str(v) for v in result.valid.column("price").to_pylist()] == ["10.50"]
    rules = [(r["rule"], r["source_line"]) for r in result.rejected.to_pylist()]
    assert rules == [("unparseable", 3), ("unparseable", 4)]
    assert 'column "price"' in result.rejected.column("reason")[0].as_py()


# --- 7. Staging -----------------------------------------------------------------------------------


def test_restaging_gives_identical_bronze_and_a_forced_encoding_is_its_own_copy(tmp_path):
    assert staging.STAGING_VERSION == "4"
    raw = tmp_path / "raw"
    sellers_csv(raw / file_of("sellers"), CP1252_BODY)
    first = build_bronze("sellers", LocalLandingZone(raw), tmp_path / "st")
    again = build_bronze("sellers", LocalLandingZone(raw), tmp_path / "st")
    assert again.table.equals(first.table)  # the staged copy is reused, _ingested_at included
    forced = build_bronze("sellers", LocalLandingZone(raw, "latin-1"), tmp_path / "st")
    assert forced.encodings == {str(raw / file_of("sellers")): "iso8859-1"}
    assert forced.table.column("seller_city").to_pylist()[1] != "niterói – centro"
    staged = sorted(p.name for p in (tmp_path / "st" / "v4" / "sellers").glob("*.meta.json"))
    digest = first.files[0].content_hash
    assert staged == [f"{digest}.iso8859-1.meta.json", f"{digest}.meta.json"]


def test_the_staged_copy_of_a_replaced_file_is_removed(tmp_path):
    # A new full export replaces the old one: the old export's staged copy (three files) goes,
    # the new one's is made; a file still in the zone keeps its copy.
    raw = tmp_path / "raw"
    sellers_csv(raw / file_of("sellers"), CP1252_BODY)
    first = build_bronze("sellers", LocalLandingZone(raw), tmp_path / "st")
    folder = tmp_path / "st" / "v4" / "sellers"
    old = first.files[0].content_hash
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{old}.meta.json",
        f"{old}.rejected.parquet",
        f"{old}.valid.parquet",
    ]
    sellers_csv(raw / file_of("sellers"), CP1252_BODY + b"s3,30000,belo horizonte,MG\n")
    second = build_bronze("sellers", LocalLandingZone(raw), tmp_path / "st")
    new = second.files[0].content_hash
    assert new != old
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{new}.meta.json",
        f"{new}.rejected.parquet",
        f"{new}.valid.parquet",
    ]
