"""Value domains and edge values: the arrays every strategy draws from.

Each domain is a range for ordinary floats plus *specials*: values drawn on purpose because autodiff
libraries are wrong there (zeros, kinks, exact ties, large and tiny magnitudes). ``hypothesis.extra.numpy``
arrays draw a background fill value and a few other elements, so exact ties appear by themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

LARGE = 1e4
TINY = 1e-30
NEG_ZERO = -0.0  # equal to 0.0, but 1/x, atan2, copysign and the sign of a product tell them apart


@dataclass(frozen=True)
class Domain:
    """Ordinary values in ``[low, high]`` plus ``specials`` (drawn with equal weight to the range)."""

    low: float
    high: float
    specials: tuple[float, ...]


DOMAINS: dict[str, Domain] = {
    "real": Domain(-4.0, 4.0, (1.0, 0.0, -1.0, 0.5, -2.0, 3.0, LARGE, -LARGE, 1e-8, -TINY, NEG_ZERO)),
    "real_large": Domain(-8.0, 8.0, (1.0, 0.0, -1.0, 2.0, LARGE, -LARGE, 50.0, -50.0, NEG_ZERO)),
    "real_neginf": Domain(-4.0, 4.0, (1.0, 0.0, -1.0, 2.0, LARGE, -LARGE, -math.inf, NEG_ZERO)),
    "nonzero": Domain(0.25, 4.0, (1.0, -1.0, 0.5, -2.0, LARGE)),  # sign drawn separately
    "nonzero0": Domain(-4.0, 4.0, (1.0, 0.0, -1.0, 0.5, TINY, -2.0, NEG_ZERO)),
    "positive": Domain(0.05, 5.0, (1.0, 2.0, 0.5, 3.0, LARGE)),
    "positive0": Domain(0.05, 5.0, (1.0, 0.0, 2.0, 0.5, TINY, 1e-8, LARGE)),
    "nonneg": Domain(0.0, 5.0, (1.0, 0.0, 4.0, 0.25, TINY, LARGE)),
    "gt_minus1": Domain(-0.95, 4.0, (0.0, -1.0, 1.0, 1e-8, -0.5, LARGE)),
    "tan": Domain(-1.4, 1.4, (0.0, 1.0, -1.0, 0.5)),
    "prob": Domain(0.02, 0.98, (0.5, 0.0, 1.0, 0.25, 0.75)),
    "sign": Domain(1.0, 1.0, (1.0, -1.0)),
    "dag": Domain(-2.0, 2.0, (0.0, 1.0, -1.0, 0.5, 2.0, -0.5)),
    "nonfinite": Domain(-4.0, 4.0, (math.nan, math.inf, -math.inf, 0.0, 1.0, -1.0, NEG_ZERO)),
    "grid": Domain(-4.0, 4.0, (0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 1.5, 0.25, -0.75, NEG_ZERO)),
}


def elements(domain: str, extra: tuple[float, ...] = ()) -> st.SearchStrategy[float]:
    """Scalars of a domain: specials (and ``extra`` kink values) or ordinary floats in range."""
    d = DOMAINS[domain]
    # keyed with the sign bit: 0.0 == -0.0, and a plain dict would keep only the first of the two
    specials = tuple({(v, math.copysign(1.0, v)): v for v in reversed(tuple(extra) + d.specials)}.values())[::-1]
    if domain == "sign":
        return st.sampled_from(specials)
    if domain == "grid":  # dyadic values: differences like input - target are exact
        return st.one_of(st.sampled_from(specials), st.integers(-32, 32).map(lambda k: k / 8))
    ordinary = st.floats(d.low, d.high, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    if domain == "nonzero":
        ordinary = st.tuples(ordinary, st.booleans()).map(lambda t: -t[0] if t[1] else t[0])
    return st.one_of(st.sampled_from(specials), ordinary)


def arrays(domain: str, shape: tuple[int, ...], extra: tuple[float, ...] = ()) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of a domain (background fill value + a few drawn elements gives exact ties)."""
    if domain == "bool":
        return hnp.arrays(np.bool_, shape, elements=st.booleans())
    return hnp.arrays(np.float64, shape, elements=elements(domain, extra))


def shapes(min_dims: int = 0, max_dims: int = 3, max_side: int = 4) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes including 0-d and size-1 dims; empty shapes come from :func:`maybe_empty`."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


@st.composite
def maybe_empty(draw: Any, shape: tuple[int, ...], p_empty: bool = True) -> tuple[int, ...]:
    """Sometimes (about 1 in 12) set one dimension of ``shape`` to 0."""
    if not shape or not p_empty or draw(st.integers(0, 11)) != 0:
        return shape
    k = draw(st.integers(0, len(shape) - 1))
    return shape[:k] + (0,) + shape[k + 1:]


def edge_tags(arrays_: list[np.ndarray], kinks: list[float], broadcast: bool = False) -> list[str]:
    """Which deliberate edge values the inputs contain (schema ``edge_values``)."""
    tags: set[str] = set()
    floats = [a for a in arrays_ if a.dtype.kind == "f"]
    for a in arrays_:
        if a.ndim == 0:
            tags.add("0-d")
        if a.size == 0:
            tags.add("empty")
        if 1 in a.shape:
            tags.add("size-1")
    allv = np.concatenate([a.ravel() for a in floats]) if floats else np.zeros(0)
    fin = allv[np.isfinite(allv)]
    if fin.size:
        if (fin == 0).any():
            tags.add("zero")
        if ((fin == 0) & np.signbit(fin)).any():
            tags.add("negative-zero")
        if np.unique(fin).size < fin.size:
            tags.add("tie")
        if (np.abs(fin) >= 1e3).any():
            tags.add("large")
        if ((np.abs(fin) > 0) & (np.abs(fin) <= 1e-6)).any():
            tags.add("tiny")
        if kinks and np.isin(fin, np.array(kinks, dtype=np.float64)).any():
            tags.add("kink")
    if allv.size != fin.size:
        tags.add("inf")
    if broadcast:
        tags.add("broadcast")
    return sorted(tags)
