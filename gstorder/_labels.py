"""Labelling of results: xarray coordinates, attributes and histogram bins shared by the analyses."""

from __future__ import annotations

import numpy as np

def pair_label(a: str, b: str) -> str:
    """'Ge-Te' style label of a species pair."""
    return f"{a}-{b}"


def frame_coords(times: np.ndarray) -> dict:
    """``frame`` and ``time`` coordinates for results over frames."""
    n = len(times)
    return {"frame": ("frame", np.arange(n)), "time": ("frame", times, {"long_name": "time", "units": "ps"})}


def attrs_of(**params) -> dict:
    """Parameters as netCDF-safe attributes (None and containers become strings)."""
    out = {}
    for key, value in params.items():
        if value is None or isinstance(value, (dict, list, tuple, set)):
            value = repr(value)
        elif isinstance(value, (bool, np.bool_)):
            value = int(value)
        out[key] = value
    return out


def bin_edges(lo: float, hi: float, width: float | None, bins: int | None, *, what: str) -> np.ndarray:
    """Histogram edges from either a bin width or a bin count."""
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ValueError(f"{what}: the range must satisfy lower < upper, got {lo} to {hi}")
    if bins is not None:
        bins = int(bins)
        if bins < 1:
            raise ValueError(f"{what}: bins must be a positive integer, got {bins}")
        return np.linspace(lo, hi, bins + 1)
    if width is None or not width > 0:
        raise ValueError(f"{what}: bin width must be positive, got {width}")
    n = max(1, int(round((hi - lo) / width)))
    return np.linspace(lo, hi, n + 1)


def centres(edges: np.ndarray) -> np.ndarray:
    return 0.5 * (edges[1:] + edges[:-1])
