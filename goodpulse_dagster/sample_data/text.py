"""Values as CSV field text, column by column, without per-row Python.

Digits are written into numpy byte matrices, hex ids by ``binascii``, and the results wrapped as
Arrow string arrays; numpy and Arrow kernels release the GIL, so columns can be formatted on worker
threads.
"""

from __future__ import annotations

import binascii
import functools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from goodpulse_dagster.sample_data.dates import NULL_TIMESTAMP, SECONDS_PER_DAY
from goodpulse_dagster.sample_data.randomness import Random

_CSV_SPECIALS = (",", '"', "\r", "\n")
_POWERS_OF_TEN = 10 ** np.arange(1, 19, dtype=np.int64)


def csv_field(text: str, quote_digits: bool = False) -> str:
    """One CSV field: quoted when it must be (or, in the quoted style, when it starts with a digit)."""
    if any(ch in text for ch in _CSV_SPECIALS) or (quote_digits and text[:1].isdigit()):
        return '"' + text.replace('"', '""') + '"'
    return text


@functools.lru_cache(maxsize=64)
def encoded_vocab(vocab: tuple[str, ...], quote_digits: bool) -> pa.Array:
    """The CSV fields of a vocabulary (empty texts are null, i.e. empty cells)."""
    return pa.array([csv_field(v, quote_digits) if v else None for v in vocab], pa.string())


def _wrap_quotes(text: pa.Array) -> pa.Array:
    quote = pa.scalar('"')
    return pc.binary_join_element_wise(quote, text, quote, "")


def fixed_width_text(
    data: bytes | np.ndarray, n: int, width: int, null: np.ndarray | None = None
) -> pa.Array:
    """A string array of n values of ``width`` bytes each, laid end to end in ``data``."""
    offsets = np.arange(0, width * (n + 1), width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(data), _validity(null), -1
    )


def _validity(null: np.ndarray | None) -> pa.Buffer | None:
    if null is None or not null.any():
        return None
    return pa.py_buffer(np.packbits(~null, bitorder="little"))


def put_digits(chars: np.ndarray, column: int, values: np.ndarray, width: int) -> None:
    """Write non-negative integers as ``width`` zero-padded ASCII digits into chars[:, column:]."""
    values = values.astype(np.int64)
    for position in range(column + width - 1, column - 1, -1):
        chars[:, position] = values % 10 + 48
        values //= 10


def template(text: bytes, n: int) -> np.ndarray:
    """A byte matrix of n rows, each a copy of ``text`` (to write digits into)."""
    chars = np.empty((n, len(text)), dtype=np.uint8)
    chars[:] = np.frombuffer(text, dtype=np.uint8)
    return chars


def _put_date(chars: np.ndarray, days: np.ndarray) -> None:
    """Write epoch days as YYYY-MM-DD into chars[:, 0:10]."""
    day = days.astype("datetime64[D]")
    month_start = day.astype("datetime64[M]")
    months = month_start.astype(np.int64)
    put_digits(chars, 0, months // 12 + 1970, 4)
    put_digits(chars, 5, months % 12 + 1, 2)
    put_digits(chars, 8, (day - month_start).astype(np.int64) + 1, 2)


def timestamp_text(seconds: np.ndarray) -> pa.Array:
    """Epoch seconds as ``YYYY-MM-DD HH:MM:SS`` (null for NULL_TIMESTAMP), digit by digit in numpy:
    ~10x faster than Arrow's strftime-based cast."""
    null = seconds == NULL_TIMESTAMP
    days, second_of_day = np.divmod(np.where(null, 0, seconds), SECONDS_PER_DAY)
    chars = template(b"0000-00-00 00:00:00", len(seconds))
    _put_date(chars, days)
    put_digits(chars, 11, second_of_day // 3600, 2)
    put_digits(chars, 14, second_of_day // 60 % 60, 2)
    put_digits(chars, 17, second_of_day % 60, 2)
    return fixed_width_text(chars, len(seconds), 19, null)


def date_text(days: np.ndarray) -> pa.Array:
    """Epoch days as ``YYYY-MM-DD``."""
    chars = template(b"0000-00-00", len(days))
    _put_date(chars, days)
    return fixed_width_text(chars, len(days), 10)


def number_text(values: np.ndarray, decimals: int = 0, null: np.ndarray | None = None) -> pa.Array:
    """Non-negative integers as decimal text with ``decimals`` implied decimals (cents -> "12.05").

    Digits are written right-aligned into a fixed-width byte matrix, and the leading padding is
    dropped with one boolean mask, so the text is built without a per-value loop.
    """
    n = len(values)
    # A fresh int64 copy: the digit loop consumes it.
    numbers = (values if null is None else np.where(null, 0, values)).astype(np.int64)
    digits = np.maximum(np.searchsorted(_POWERS_OF_TEN, numbers, side="right") + 1, decimals + 1)
    length = digits + (1 if decimals else 0)
    if null is not None:
        length = np.where(null, 0, length)
    width = int(length.max()) if n else 1
    chars = np.empty((n, width), dtype=np.uint8)
    position = width - 1
    for k in range(width - (1 if decimals else 0)):
        if decimals and k == decimals:
            chars[:, position] = ord(".")
            position -= 1
        chars[:, position] = numbers % 10 + 48
        numbers //= 10
        position -= 1
    keep = np.arange(width) >= (width - length)[:, None]
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(length, out=offsets[1:])
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(chars[keep]), _validity(null), -1
    )


def hex_id_text(rand: Random, stream: str, keys: np.ndarray, quote_digits: bool) -> pa.Array:
    """32-char lowercase hex ids: 128 hashed bits per key, hex-encoded in one C call. In the quoted
    style, ids that start with a digit are quoted."""
    n = len(keys)
    words = np.empty((n, 2), dtype=">u8")  # big-endian: the hex text reads word by word
    words[:, 0] = rand.bits(stream + ".hi", keys)
    words[:, 1] = rand.bits(stream + ".lo", keys)
    ids = fixed_width_text(binascii.hexlify(words.data), n, 32)
    if not quote_digits:
        return ids
    starts_with_digit = (words[:, 0] >> np.uint64(60)) < 10
    return pc.if_else(pa.array(starts_with_digit), _wrap_quotes(ids), ids)
