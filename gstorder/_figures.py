"""What the figures and key-number rows of every analysis share: new figures, legends, groups of a results tree, numbers.

Each analysis declares its own figures and report rows (see :mod:`gstorder.registry`); these helpers keep them short.
Matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import re

import numpy as np

#: Bond cut-off (Å) for the g(r) peak search when the motifs group does not give one.
DEFAULT_BOND_CUTOFF = 3.2


def _new_figure(size=(4.5, 3.2), rows: int = 1):
    """A figure outside pyplot (no backend, nothing to close) and its axes (an array of them for rows > 1)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, (axes if rows > 1 else axes[0])


def _legend_outside(ax, reverse: bool = False) -> None:
    """The legend right of the axes, so it hides no curve."""
    handles, labels = ax.get_legend_handles_labels()
    if reverse:
        handles, labels = handles[::-1], labels[::-1]
    ax.legend(handles, labels, frameon=False, fontsize="small", loc="center left", bbox_to_anchor=(1, 0.5))


def _group(tree, name):
    """The Dataset of child ``name``, or None when absent or empty."""
    if name not in tree.children:
        return None
    ds = tree[name].to_dataset()
    if "window" in ds.dims:  # figures and key numbers: windows of per-frame values as frames, pooled maps as their mean
        if ds.attrs.get("window_means") == "frames":
            ds = ds.rename({"window": "frame"}).assign_coords(time=("frame", ds.window_start.values))
        else:
            ds = ds.mean("window", keep_attrs=True)
    return ds if ds.data_vars else None


def _altbc_map(ds):
    """The ALTBC map to report (normalised if present) and whether it is normalised; None if unusable."""
    for name, normalised in (("altbc_normalized", True), ("altbc", False)):
        if name in ds:
            p = ds[name]
            if np.isfinite(p.values).any() and np.nanmax(p.values) > 0:
                return p, normalised
    return None, False


def _altbc_attrs(ds) -> dict:
    """ALTBC parameters: on the Dataset, or on its variable after ``DataArray.to_dataset()``."""
    return {**(ds["altbc"].attrs if "altbc" in ds else {}), **ds.attrs}


def _timed(ds):
    """``ds`` with a usable ``time`` coordinate (frame numbers when times are missing) and its axis label."""
    if np.isfinite(ds.time.values).all():
        return ds, "time (ps)"
    return ds.assign_coords(time=("frame", ds.frame.values.astype(float))), "frame"


def _cutoff(ds, default=DEFAULT_BOND_CUTOFF):
    """A group's scalar bond cut-off in Å (``default`` for a per-pair table or no group)."""
    value = _number(None if ds is None else ds.attrs.get("cutoff"))
    return value if np.isfinite(value) else default


def _reference_name(ds) -> str:
    """'rocksalt' from 'rocksalt: three randomised ...'; user references keep their description."""
    return str(ds.attrs.get("reference", "reference")).split(":")[0].strip()


def _formula_counts(formula: str) -> dict[str, float]:
    """Atoms per species of a formula such as 'Ge27Sb54Te108' (empty when it does not parse)."""
    counts: dict[str, float] = {}
    for symbol, n in re.findall(r"([A-Z][a-z]?)(\d*\.?\d*)", str(formula)):
        counts[symbol] = counts.get(symbol, 0.0) + (float(n) if n else 1.0)
    return counts


def _number(value) -> float:
    """``value`` as a float, NaN when missing or not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _nanmean(values) -> float:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else np.nan


def _nanstd(values) -> float:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.std()) if len(values) else np.nan


def species_time_figure(ds, total: str, per_species: str, draw):
    """A time series of all atoms (``draw(ds, ax=..., labels=["all atoms"])``) and of each species (``per_species``, dashed).

    None for fewer than two frames or an all-NaN ``total``; the x axis is time in ps (frame numbers without times).
    """
    from . import plot

    if ds.sizes["frame"] < 2 or not np.isfinite(ds[total].values).any():
        return None, None
    ds, xlabel = _timed(ds)
    fig, ax = _new_figure((5.2, 3.2))
    draw(ds, ax=ax, labels=["all atoms"])
    if per_species in ds:
        for s in ds.species.values:
            ax.plot(ds.time, ds[per_species].sel(species=s), lw=1.0, ls="--", color=plot.SPECIES_COLOURS.get(str(s)),
                    label=str(s))
        _legend_outside(ax)
    ax.set_xlabel(xlabel)
    return fig, ax


def mean_text(values, scale: float = 1.0, fmt: str = ".3f", unit: str = "") -> str:
    """'mean unit ± std' over frames (the spread only with several finite values: one frame has none)."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    text = f"{scale * _nanmean(values):{fmt}}{unit}"
    return text + (f" ± {scale * _nanstd(values):{fmt}}" if len(finite) > 1 else "")
