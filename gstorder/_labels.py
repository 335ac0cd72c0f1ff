"""Labelling of results: xarray coordinates, attributes and histogram bins shared by the analyses."""

from __future__ import annotations

import numpy as np

from . import _checks
from .errors import InvalidArgumentError


def pair_label(a: str, b: str) -> str:
    """'Ge-Te' style label of a species pair."""
    return f"{a}-{b}"


def frame_coords(times: np.ndarray) -> dict:
    """``frame`` and ``time`` coordinates for results over frames."""
    n = len(times)
    return {"frame": ("frame", np.arange(n)), "time": ("frame", times, {"long_name": "time", "units": "ps"})}


def attrs_of(**params) -> dict:
    """Parameters as netCDF-safe attributes: booleans as ``"true"``/``"false"``, None and containers as their repr."""
    out = {}
    for key, value in params.items():
        if value is None or isinstance(value, (dict, list, tuple, set)):
            value = repr(value)
        elif isinstance(value, (bool, np.bool_)):
            value = "true" if value else "false"
        out[key] = value
    return out


def bin_edges(lo: float, hi: float, width: float | None, bins: int | None, *, what: str) -> np.ndarray:
    """Histogram edges from either a bin width or a bin count."""
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise InvalidArgumentError(f"{what}: the range must satisfy lower < upper, got {lo} to {hi}")
    if bins is not None:
        bins = _checks.count("bins", bins)
        return np.linspace(lo, hi, bins + 1)
    width = _checks.positive("bin_width", width)
    n = (hi - lo) / width
    if n > 10_000_000:
        raise InvalidArgumentError(f"{what}: bin_width={width} gives {n:.3g} bins from {lo} to {hi}; at most 10^7")
    n = max(1, int(round(n)))
    return np.linspace(lo, hi, n + 1)


def centres(edges: np.ndarray) -> np.ndarray:
    return 0.5 * (edges[1:] + edges[:-1])
