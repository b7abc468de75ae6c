"""Sample-data generator: Olist-shaped CSV exports of any size, clean or messy.

The files follow the public Kaggle layout exactly (file names, headers and column order from
:mod:`goodpulse_dagster.schema`), so the pipeline reads generated and real exports alike, and the
numbers tell the Olist story: growth from 2016-09 to a November 2017 (Black Friday) peak, ~97%
one-time buyers, São Paulo-heavy geography, review scores that fall when delivery runs late.

How it stays fast, small and reproducible:

* **Counter-based randomness** (:mod:`.randomness`). Every random value is a hash of (seed, stream
  name, row key), where the row key is a global integer (order index, item line, person, product).
  A row's values thus do not depend on which chunk it is generated in: output is byte-identical for
  a seed whatever ``chunk_orders`` is, and any value can be recomputed on its own.
* **Compact integer world** (:mod:`.world`). The only state held across chunks is the person behind
  each order (int32 per order) and each person's order count (uint8 per person). Where a person or
  seller lives and a product's category, price, weight and seller are pure functions of its index,
  recomputed for the rows a chunk needs. Hex ids are derived from integers when a chunk is written,
  so no array of 32-character strings outlives its chunk.
* **Bounded memory.** Besides those ~5 bytes per order (50 MB at 10M orders), memory is set by the
  chunk size, not by the total: orders are drawn ``chunk_orders`` at a time (100,000 by default,
  at most 1,000,000), the dimension tables that grow with the orders (products, sellers, leads,
  deals) ``export.DIMENSION_CHUNK_ROWS`` rows at a time, persons in blocks of
  ``world.PERSON_BLOCK``, and at most ``export.FRAMES_IN_FLIGHT`` frames wait to be written. Peak
  RSS is 0.45-0.7 GB from 1M to 30M orders (docs/performance.md, "The generator's memory").
* **Vectorised text** (:mod:`.text`, :mod:`.formats`). Each chunk is formatted column by column
  (digits written into numpy byte matrices, hex by ``binascii``, joins by Arrow kernels) on worker
  threads, and written as one buffer per file (:mod:`.writer`); there is no per-row Python.

Messy mode (:mod:`.messy`) adds what real exports contain (duplicates, several reviews per order,
multi-line quoted review text, the quoting style of the complete tables, a few unparseable or
orphan rows) and counts each injected problem exactly in :attr:`GenerationReport.injected`.

Modules, in the order the data flows: :mod:`.reference_data` (the fixed vocabularies),
:mod:`.dates` (the purchase calendar), :mod:`.world` (people, places, sellers, products),
:mod:`.orders` and :mod:`.reviews` (the order-grain tables, chunk by chunk), :mod:`.dimensions`
and :mod:`.funnel` (the tables written once), :mod:`.messy`, :mod:`.frames` (rows before text),
:mod:`.text` and :mod:`.formats` (rows as CSV lines), :mod:`.writer` (files) and :mod:`.export`
(:func:`generate`, which ties them together).
"""

from goodpulse_dagster.sample_data.export import GenerationReport, generate
from goodpulse_dagster.sample_data.writer import LAYOUTS, REPORT_FILE_NAME

__all__ = ["LAYOUTS", "REPORT_FILE_NAME", "GenerationReport", "generate"]
