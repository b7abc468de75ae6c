"""Order reviews: a score that falls as delivery runs late, and short texts by sentiment."""

from __future__ import annotations

import numpy as np

from goodpulse_dagster.sample_data import reference_data as ref
from goodpulse_dagster.sample_data.dates import SECONDS_PER_DAY, midnight
from goodpulse_dagster.sample_data.frames import Frame, sort_keys
from goodpulse_dagster.sample_data.randomness import Random

REVIEW_SHARE = 0.99
SENTIMENTS = ("negative", "neutral", "positive")
# Review score probabilities (1..5) by delivery class: the score falls as delivery runs late.
EARLY_DAYS = 7  # delivered at least this many days before the estimate
BADLY_LATE_DAYS = 5  # delivered more than this many days after the estimate
SCORE_SHARES = np.array(
    [
        [0.05, 0.025, 0.08, 0.20, 0.645],  # 0: early
        [0.09, 0.04, 0.11, 0.23, 0.53],  # 1: on time
        [0.35, 0.12, 0.17, 0.16, 0.20],  # 2: a little late
        [0.62, 0.12, 0.10, 0.07, 0.09],  # 3: badly late
        [0.65, 0.10, 0.10, 0.07, 0.08],  # 4: never delivered
    ]
)
TITLE_SHARES = (0.20, 0.12, 0.10)  # by sentiment: unhappy customers write more
MESSAGE_SHARES = (0.75, 0.50, 0.35)
UNDELIVERED_REVIEW_DAYS = (10, 35)  # review of a never-delivered order: days after purchase
ANSWER_SECONDS = (86_400, 3 * 86_400)

_SCORE_CDF = np.cumsum(SCORE_SHARES / SCORE_SHARES.sum(axis=1, keepdims=True), axis=1)


def _vocabulary(groups: dict[str, tuple[str, ...]], extra: tuple[str, ...] = ()) -> tuple:
    """A flat vocabulary of texts by sentiment, with each sentiment's (offset, size)."""
    texts = tuple(t for s in SENTIMENTS for t in groups[s]) + extra
    sizes = np.array([len(groups[s]) for s in SENTIMENTS])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return texts, offsets, sizes


# Title and message columns hold codes into these vocabularies (-1: empty).
TITLE_VOCAB, _TITLE_OFFSETS, _TITLE_SIZES = _vocabulary(ref.REVIEW_TITLES)
MESSAGE_VOCAB, _MESSAGE_OFFSETS, _MESSAGE_SIZES = _vocabulary(
    ref.REVIEW_MESSAGES, ref.MULTILINE_REVIEW_MESSAGES
)
# Code of the first multi-line message (messy mode only: they are at the end of the vocabulary).
MULTILINE_OFFSET = len(MESSAGE_VOCAB) - len(ref.MULTILINE_REVIEW_MESSAGES)


def delivery_class(
    delivered: np.ndarray, delivered_at: np.ndarray, estimated: np.ndarray
) -> np.ndarray:
    """Each order's row of SCORE_SHARES: 0 early, 1 on time, 2 a little late, 3 badly late, 4
    never delivered."""
    lateness = delivered_at - estimated
    return np.select(
        [
            ~delivered,
            lateness > BADLY_LATE_DAYS * SECONDS_PER_DAY,
            lateness > 0,
            -lateness >= EARLY_DAYS * SECONDS_PER_DAY,
        ],
        [4, 3, 2, 0],
        default=1,
    )


def review_scores(rand: Random, stream: str, keys: np.ndarray, klass: np.ndarray) -> np.ndarray:
    """Scores 1..5 drawn from each key's delivery class."""
    u = rand.uniform(stream, keys)
    return 1 + (u[:, None] >= _SCORE_CDF[klass, :-1]).sum(axis=1)


def sentiment_of(score: np.ndarray) -> np.ndarray:
    """Index into SENTIMENTS of review scores: 1-2 negative, 3 neutral, 4-5 positive."""
    return np.where(score <= 2, 0, np.where(score == 3, 1, 2))


def _review_texts(
    rand: Random,
    stream: str,
    keys: np.ndarray,
    sentiment: np.ndarray,
    shares: tuple[float, ...],
    offsets: np.ndarray,
    sizes: np.ndarray,
) -> np.ndarray:
    """Vocabulary codes of review titles/messages (-1: empty), by sentiment."""
    present = rand.uniform(stream + ".present", keys) < np.asarray(shares)[sentiment]
    pick = (rand.uniform(stream + ".pick", keys) * sizes[sentiment]).astype(np.int64)
    return np.where(present, offsets[sentiment] + pick, -1)


def review_titles(rand: Random, stream: str, keys: np.ndarray, sentiment: np.ndarray) -> np.ndarray:
    """Codes into TITLE_VOCAB (-1: no title)."""
    return _review_texts(rand, stream, keys, sentiment, TITLE_SHARES, _TITLE_OFFSETS, _TITLE_SIZES)


def review_messages(
    rand: Random, stream: str, keys: np.ndarray, sentiment: np.ndarray
) -> np.ndarray:
    """Codes into MESSAGE_VOCAB (-1: no message); never a multi-line one."""
    return _review_texts(
        rand, stream, keys, sentiment, MESSAGE_SHARES, _MESSAGE_OFFSETS, _MESSAGE_SIZES
    )


def review_frame(
    rand: Random,
    index: np.ndarray,
    quarter: np.ndarray,
    purchase: np.ndarray,
    delivered: np.ndarray,
    delivered_at: np.ndarray,
    klass: np.ndarray,
) -> Frame:
    """One review for ~REVIEW_SHARE of the orders ``index`` (a chunk), written the day after
    delivery (or some days after purchase when never delivered)."""
    okey = index.astype(np.uint64)
    reviewed = np.flatnonzero(rand.uniform("reviewed", okey) < REVIEW_SHARE)
    rkey = okey[reviewed]
    score = review_scores(rand, "score", rkey, klass[reviewed])
    sentiment = sentiment_of(score)
    creation = np.where(
        delivered[reviewed],
        midnight(delivered_at[reviewed]) + SECONDS_PER_DAY,
        midnight(purchase[reviewed])
        + rand.integers("review_day", rkey, *UNDELIVERED_REVIEW_DAYS) * SECONDS_PER_DAY,
    )
    return Frame(
        "order_reviews",
        {
            "review_id": rkey,
            "order_id": rkey,
            "review_score": score,
            "review_comment_title": review_titles(rand, "title", rkey, sentiment),
            "review_comment_message": review_messages(rand, "message", rkey, sentiment),
            "review_creation_date": creation,
            "review_answer_timestamp": creation + rand.integers("answer", rkey, *ANSWER_SECONDS),
        },
        sort_keys(index[reviewed]),
        quarter[reviewed],
    )
