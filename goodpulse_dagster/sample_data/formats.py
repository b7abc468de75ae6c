"""How each table's columns become CSV text, and the style (quoting, line ends) of each file.

:data:`COLUMN_FORMATS` names, for every column of every source table, the kind of text its raw
values become; :func:`encode_frame` turns a frame into CSV lines with it, column by column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from goodpulse_dagster import schema
from goodpulse_dagster.sample_data.frames import LINE_OVERRIDE, Frame
from goodpulse_dagster.sample_data.funnel import (
    BUSINESS_TYPES,
    HAS_COMPANY,
    HAS_GTIN,
    LEAD_TYPES,
    ORIGINS,
    PROFILES,
    SEGMENTS,
    STOCK,
)
from goodpulse_dagster.sample_data.orders import PAYMENT_TYPES
from goodpulse_dagster.sample_data.randomness import Random
from goodpulse_dagster.sample_data.reviews import MESSAGE_VOCAB, TITLE_VOCAB
from goodpulse_dagster.sample_data.text import (
    csv_field,
    date_text,
    encoded_vocab,
    fixed_width_text,
    hex_id_text,
    number_text,
    put_digits,
    template,
    timestamp_text,
)
from goodpulse_dagster.sample_data.world import (
    CATEGORY_NAMES,
    CATEGORY_NAMES_EN,
    CITY_NAMES,
    STATES,
)

# The complete Kaggle tables quote every header and every text value that starts with a digit;
# messy mode writes these files in that style (orders, reviews and geolocation stay minimal).
QUOTED_STYLE_TABLES = (
    "customers",
    "order_items",
    "order_payments",
    "products",
    "sellers",
    "category_translation",
    "marketing_qualified_leads",
    "closed_deals",
)
BOM = "\ufeff"  # the translation file starts with one, in any mode
# The real translation file has CRLF line ends; messy mode copies that.
CRLF_TABLES_WHEN_MESSY = ("category_translation",)


@dataclass(frozen=True)
class Format:
    """How a column's raw values become CSV text.

    kinds: ``hex`` (ids from integer keys, hashed with ``stream``), ``zip`` (5 digits), ``vocab``
    (codes into ``vocab``; -1 or empty text is an empty cell), ``int``, ``money`` (cents -> 2
    decimals), ``timestamp`` (epoch seconds), ``date`` (epoch days), ``float`` (shortest repr),
    ``float1`` (whole numbers as ``N.0``, as the funnel's numeric columns are written),
    ``float1_int`` (whole numbers as ``N``, as the products' measures are written); NaN and the
    null timestamp are empty cells.
    """

    kind: str
    stream: str = ""
    vocab: tuple[str, ...] = ()


_STATES_VOCAB = Format("vocab", vocab=STATES)
_CITY_VOCAB = Format("vocab", vocab=CITY_NAMES)
COLUMN_FORMATS: dict[str, dict[str, Format]] = {
    "orders": {
        "order_id": Format("hex", "order"),
        "customer_id": Format("hex", "customer"),
        "order_status": Format("vocab", vocab=schema.ORDER_STATUSES),
        "order_purchase_timestamp": Format("timestamp"),
        "order_approved_at": Format("timestamp"),
        "order_delivered_carrier_date": Format("timestamp"),
        "order_delivered_customer_date": Format("timestamp"),
        "order_estimated_delivery_date": Format("timestamp"),
    },
    "customers": {
        "customer_id": Format("hex", "customer"),
        "customer_unique_id": Format("hex", "person"),
        "customer_zip_code_prefix": Format("zip"),
        "customer_city": _CITY_VOCAB,
        "customer_state": _STATES_VOCAB,
    },
    "order_items": {
        "order_id": Format("hex", "order"),
        "order_item_id": Format("int"),
        "product_id": Format("hex", "product"),
        "seller_id": Format("hex", "seller"),
        "shipping_limit_date": Format("timestamp"),
        "price": Format("money"),
        "freight_value": Format("money"),
    },
    "order_payments": {
        "order_id": Format("hex", "order"),
        "payment_sequential": Format("int"),
        "payment_type": Format("vocab", vocab=PAYMENT_TYPES),
        "payment_installments": Format("int"),
        "payment_value": Format("money"),
    },
    "order_reviews": {
        "review_id": Format("hex", "review"),
        "order_id": Format("hex", "order"),
        "review_score": Format("int"),
        "review_comment_title": Format("vocab", vocab=TITLE_VOCAB),
        "review_comment_message": Format("vocab", vocab=MESSAGE_VOCAB),
        "review_creation_date": Format("timestamp"),
        "review_answer_timestamp": Format("timestamp"),
    },
    "products": {
        "product_id": Format("hex", "product"),
        "product_category_name": Format("vocab", vocab=CATEGORY_NAMES),
        "product_name_lenght": Format("float1_int"),
        "product_description_lenght": Format("float1_int"),
        "product_photos_qty": Format("float1_int"),
        "product_weight_g": Format("float1_int"),
        "product_length_cm": Format("float1_int"),
        "product_height_cm": Format("float1_int"),
        "product_width_cm": Format("float1_int"),
    },
    "sellers": {
        "seller_id": Format("hex", "seller"),
        "seller_zip_code_prefix": Format("zip"),
        "seller_city": _CITY_VOCAB,
        "seller_state": _STATES_VOCAB,
    },
    "geolocation": {
        "geolocation_zip_code_prefix": Format("zip"),
        "geolocation_lat": Format("float"),
        "geolocation_lng": Format("float"),
        "geolocation_city": _CITY_VOCAB,
        "geolocation_state": _STATES_VOCAB,
    },
    "category_translation": {
        "product_category_name": Format("vocab", vocab=CATEGORY_NAMES),
        "product_category_name_english": Format("vocab", vocab=CATEGORY_NAMES_EN),
    },
    "marketing_qualified_leads": {
        "mql_id": Format("hex", "mql"),
        "first_contact_date": Format("date"),
        "landing_page_id": Format("hex", "landing_page"),
        "origin": Format("vocab", vocab=ORIGINS),
    },
    "closed_deals": {
        "mql_id": Format("hex", "mql"),
        "seller_id": Format("hex", "seller"),
        "sdr_id": Format("hex", "sdr"),
        "sr_id": Format("hex", "sr"),
        "won_date": Format("timestamp"),
        "business_segment": Format("vocab", vocab=SEGMENTS),
        "lead_type": Format("vocab", vocab=LEAD_TYPES),
        "lead_behaviour_profile": Format("vocab", vocab=PROFILES),
        "has_company": Format("vocab", vocab=HAS_COMPANY),
        "has_gtin": Format("vocab", vocab=HAS_GTIN),
        "average_stock": Format("vocab", vocab=STOCK),
        "business_type": Format("vocab", vocab=BUSINESS_TYPES),
        "declared_product_catalog_size": Format("float1"),
        "declared_monthly_revenue": Format("float1"),
    },
}
assert all(list(COLUMN_FORMATS[t]) == list(schema.SOURCE_TABLES[t].columns) for t in COLUMN_FORMATS)
assert set(COLUMN_FORMATS) == set(schema.SOURCE_TABLES)


def table_style(table: str, messy: bool) -> tuple[bool, str]:
    """(quoted style, line end) of a table's file."""
    quoted = messy and table in QUOTED_STYLE_TABLES
    newline = "\r\n" if messy and table in CRLF_TABLES_WHEN_MESSY else "\n"
    return quoted, newline


def header(table: str, quoted: bool, newline: str) -> bytes:
    """The header line of a table's file (with the BOM the translation file starts with)."""
    columns = schema.SOURCE_TABLES[table].columns
    text = ",".join(f'"{c}"' if quoted else c for c in columns) + newline
    if table == "category_translation":
        text = BOM + text
    return text.encode("utf-8")


def _column_text(spec: Format, values: np.ndarray, rand: Random, quote_digits: bool) -> pa.Array:
    """CSV field text of one column (nulls mean empty cells). Only text columns (the VARCHAR ones)
    take the quoted style; numbers, dates and timestamps are never quoted, as in the real files."""
    kind = spec.kind
    if kind == "hex":
        return hex_id_text(rand, spec.stream, values, quote_digits)
    if kind == "zip":
        chars = template(b'"00000"' if quote_digits else b"00000", len(values))
        put_digits(chars, 1 if quote_digits else 0, values, 5)
        return fixed_width_text(chars, len(values), chars.shape[1])
    if kind == "vocab":
        codes = values.astype(np.int64)
        return encoded_vocab(spec.vocab, quote_digits).take(pa.array(codes, mask=codes < 0))
    if kind == "int":
        return number_text(values)
    if kind == "money":
        return number_text(values, decimals=2)
    if kind == "timestamp":
        return timestamp_text(values.astype(np.int64))
    if kind == "date":
        return date_text(values)
    if kind == "float":
        return pa.array(values.astype(np.float64)).cast(pa.string())
    if kind in ("float1", "float1_int"):
        # Products' measures are written as integers, the funnel's numbers as N.0 (as in the real
        # files); NaN is an empty cell.
        null = np.isnan(values)
        whole = np.where(null, 0, values).astype(np.int64)
        if kind == "float1_int":
            return number_text(whole, null=null)
        return number_text(whole * 10, decimals=1, null=null)
    raise ValueError(f"unknown column format {kind!r}")


def encode_frame(frame: Frame, rand: Random, quote_digits: bool, newline: str) -> pa.Array:
    """The rows of a frame as CSV lines (each ending in ``newline``)."""
    overrides: dict[str, list[tuple[int, str]]] = {}
    for column, row, text in frame.overrides:
        overrides.setdefault(column, []).append((row, text))
    fields = []
    for column, spec in COLUMN_FORMATS[frame.table].items():
        text = _column_text(spec, frame.columns[column], rand, quote_digits)
        if column in overrides:
            text = _replace_rows(
                text, [(r, csv_field(v, quote_digits)) for r, v in overrides[column]]
            )
        fields.append(text)
    lines = pc.binary_join_element_wise(*fields, ",", null_handling="replace", null_replacement="")
    if LINE_OVERRIDE in overrides:
        lines = _replace_rows(
            lines, [(r, _malformed(lines[r].as_py(), how)) for r, how in overrides[LINE_OVERRIDE]]
        )
    return pc.binary_join_element_wise(lines, "", newline)


def _replace_rows(text: pa.Array, replacements: list[tuple[int, str]]) -> pa.Array:
    replacements = sorted(replacements)
    mask = np.zeros(len(text), dtype=bool)
    mask[[r for r, _ in replacements]] = True
    return pc.replace_with_mask(text, pa.array(mask), pa.array([v for _, v in replacements]))


def _malformed(line: str, how: str) -> str:
    """A line with one field too few or too many (the last field is a number, never quoted)."""
    return line.rsplit(",", 1)[0] if how == "drop_last" else line + ",0"
