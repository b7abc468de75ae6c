"""Counter-based randomness: every random value is a pure function of (seed, stream, row key).

The row key is a global integer (order index, item line, person, product), so a row's values do not
depend on which chunk it is generated in, or on which rows were drawn before it: chunking cannot
change the output, and the few places that need a row's value ahead of time (e.g. choosing orders
that have payments) can simply recompute it.
"""

from __future__ import annotations

import hashlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, in place: a bijection of uint64 that scatters neighbouring inputs."""
    x ^= x >> np.uint64(30)
    x *= _MIX1
    x ^= x >> np.uint64(27)
    x *= _MIX2
    x ^= x >> np.uint64(31)
    return x


class Random:
    """Random values as a pure function of (seed, stream, key): SplitMix64 over key-indexed counters.

    Each stream name (``"purchase_day"``, ``"freight"``, ...) gets its own base offset, hashed from
    the seed and the name, so two streams never share values.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._bases: dict[str, np.uint64] = {}

    def _base(self, stream: str) -> np.uint64:
        base = self._bases.get(stream)
        if base is None:
            digest = hashlib.blake2b(f"{self.seed}/{stream}".encode(), digest_size=8).digest()
            base = self._bases[stream] = np.uint64(int.from_bytes(digest, "little"))
        return base

    def bits(self, stream: str, keys: np.ndarray) -> np.ndarray:
        """64 random bits per key, as uint64."""
        x = np.asarray(keys).astype(np.uint64) * _GOLDEN
        x += self._base(stream)
        return mix64(x)

    def uniform(self, stream: str, keys: np.ndarray) -> np.ndarray:
        """Floats in [0, 1)."""
        return (self.bits(stream, keys) >> np.uint64(11)).astype(np.float64) * (2.0**-53)

    def normal(self, stream: str, keys: np.ndarray) -> np.ndarray:
        """Standard normal values (Box-Muller over two streams)."""
        radius = np.sqrt(-2.0 * np.log1p(-self.uniform(stream + ".r", keys)))
        return radius * np.cos(2.0 * np.pi * self.uniform(stream + ".a", keys))

    def lognormal(self, stream: str, keys: np.ndarray, median: float, sigma: float) -> np.ndarray:
        return median * np.exp(sigma * self.normal(stream, keys))

    def integers(self, stream: str, keys: np.ndarray, low: int, high: int) -> np.ndarray:
        """Integers in [low, high] (inclusive), as int64."""
        return low + (self.uniform(stream, keys) * (high - low + 1)).astype(np.int64)

    def choice(self, stream: str, keys: np.ndarray, cdf: np.ndarray) -> np.ndarray:
        """Indices drawn from a cumulative distribution (last value 1.0), as int64."""
        return np.searchsorted(cdf, self.uniform(stream, keys), side="right").astype(np.int64)


def cdf(weights: np.ndarray | list[float] | tuple[float, ...]) -> np.ndarray:
    """The cumulative distribution of some weights (normalised: the last value is 1.0)."""
    cumulative = np.cumsum(np.asarray(weights, dtype=float))
    return cumulative / cumulative[-1]
