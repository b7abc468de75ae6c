"""The marketing funnel: marketing-qualified leads, and the deals that closed (one per funnel
seller)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np

from goodpulse_dagster.sample_data import reference_data as ref
from goodpulse_dagster.sample_data.dates import SECONDS_PER_DAY, day_number
from goodpulse_dagster.sample_data.frames import Frame, sort_keys
from goodpulse_dagster.sample_data.randomness import cdf
from goodpulse_dagster.sample_data.world import World

# Every FUNNEL_SELLER_STRIDE-th seller (by popularity rank) came through the funnel, so funnel
# sellers sell a stable ~18% of item lines at any size.
FUNNEL_SELLER_STRIDE = 5
FUNNEL_SELLER_OFFSET = 2
LEADS_PER_DEAL = 10  # ~10% of marketing-qualified leads close
FIRST_CONTACT_RANGE = (date(2016, 6, 1), date(2018, 6, 30))
WON_MEDIAN_DAYS = 30.0
WON_SIGMA = 1.0
WON_DAYS_RANGE = (1.0, 400.0)
LEADS_PER_LANDING_PAGE = 16
SDR_POOL = 32  # sales development representatives
SR_POOL = 22  # sales representatives
DECLARED_CATALOG_SHARE = 0.08
DECLARED_REVENUE_SHARE = 0.05


def _weighted_vocab(pairs: tuple[tuple[str, int], ...]) -> tuple[tuple[str, ...], np.ndarray]:
    """A (value, weight) code list as its values and their cumulative distribution."""
    return tuple(v for v, _ in pairs), cdf([w for _, w in pairs])


# The funnel's code columns hold indices into these vocabularies.
ORIGINS, _ORIGIN_CDF = _weighted_vocab(ref.LEAD_ORIGINS)
LEAD_TYPES, _LEAD_TYPE_CDF = _weighted_vocab(ref.LEAD_TYPES)
SEGMENTS, _SEGMENT_CDF = _weighted_vocab(ref.BUSINESS_SEGMENTS)
PROFILES, _PROFILE_CDF = _weighted_vocab(ref.LEAD_BEHAVIOUR_PROFILES)
HAS_COMPANY, _HAS_COMPANY_CDF = _weighted_vocab(ref.HAS_COMPANY)
HAS_GTIN, _HAS_GTIN_CDF = _weighted_vocab(ref.HAS_GTIN)
STOCK, _STOCK_CDF = _weighted_vocab(ref.AVERAGE_STOCK)
BUSINESS_TYPES, _BUSINESS_TYPE_CDF = _weighted_vocab(ref.BUSINESS_TYPES)


def funnel_frames(world: World) -> Iterator[Frame]:
    """Marketing-qualified leads, and the deals that closed: one per funnel seller."""
    rand = world.rand
    deal_sellers = np.arange(FUNNEL_SELLER_OFFSET, world.n_sellers, FUNNEL_SELLER_STRIDE)
    n_deals = len(deal_sellers)
    n_leads = n_deals * LEADS_PER_DEAL
    leads = np.arange(n_leads, dtype=np.uint64)
    first_day, last_day = (day_number(d) for d in FIRST_CONTACT_RANGE)
    contact_day = rand.integers("first_contact", leads, first_day, last_day)
    n_pages = max(5, n_leads // LEADS_PER_LANDING_PAGE)
    page = np.floor(n_pages * rand.uniform("landing_page", leads) ** 2).astype(np.uint64)
    yield Frame(
        "marketing_qualified_leads",
        {
            "mql_id": leads,
            "first_contact_date": contact_day,
            "landing_page_id": page,
            "origin": rand.choice("origin", leads, _ORIGIN_CDF),
        },
        sort_keys(leads),
    )

    # The closed lead of deal d is lead d * LEADS_PER_DEAL (ids are hashed, so no pattern shows).
    deals = np.arange(n_deals, dtype=np.uint64)
    closed = deals * np.uint64(LEADS_PER_DEAL)
    won_days = np.clip(
        rand.lognormal("won_days", deals, WON_MEDIAN_DAYS, WON_SIGMA), *WON_DAYS_RANGE
    )
    won = contact_day[closed] * SECONDS_PER_DAY + (won_days * SECONDS_PER_DAY).astype(np.int64)
    catalog = np.asarray(ref.DECLARED_CATALOG_SIZES, dtype=float)[
        rand.integers("catalog", deals, 0, len(ref.DECLARED_CATALOG_SIZES) - 1)
    ]
    revenue = np.asarray(ref.DECLARED_MONTHLY_REVENUES, dtype=float)[
        rand.integers("revenue", deals, 0, len(ref.DECLARED_MONTHLY_REVENUES) - 1)
    ]
    yield Frame(
        "closed_deals",
        {
            "mql_id": closed,
            "seller_id": deal_sellers.astype(np.uint64),
            "sdr_id": rand.integers("sdr", deals, 0, SDR_POOL - 1),
            "sr_id": rand.integers("sr", deals, 0, SR_POOL - 1),
            "won_date": won,
            "business_segment": rand.choice("segment", deals, _SEGMENT_CDF),
            "lead_type": rand.choice("lead_type", deals, _LEAD_TYPE_CDF),
            "lead_behaviour_profile": rand.choice("profile", deals, _PROFILE_CDF),
            "has_company": rand.choice("has_company", deals, _HAS_COMPANY_CDF),
            "has_gtin": rand.choice("has_gtin", deals, _HAS_GTIN_CDF),
            "average_stock": rand.choice("average_stock", deals, _STOCK_CDF),
            "business_type": rand.choice("business_type", deals, _BUSINESS_TYPE_CDF),
            "declared_product_catalog_size": np.where(
                rand.uniform("has_catalog", deals) < DECLARED_CATALOG_SHARE, catalog, np.nan
            ),
            "declared_monthly_revenue": np.where(
                rand.uniform("has_revenue", deals) < DECLARED_REVENUE_SHARE, revenue, 0.0
            ),
        },
        sort_keys(deals),
    )
