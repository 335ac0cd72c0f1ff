"""ALTBC: the angular-limited three-body correlation, a map of the Peierls distortion.

For centre atoms i and ordered pairs of distinct neighbours j, k with
``r_min <= r_ij, r_ik < r_max`` and bond angle j-i-k >= 180° - δ::

    P(r1, r2) = (1 / N_centres) Σ_i Σ_{j≠k} δ(r1 - r_ij) δ(r2 - r_ik)

in pairs per centre per Å². A Peierls-distorted crystal (α-GeTe) has
off-diagonal peaks at (short, long) and (long, short); an undistorted
rock-salt peaks on the diagonal.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from . import neighbors
from ._common import DEFAULT_BLOCK_SIZE, analysis_frames, attrs_of, bin_edges, centres, n_tasks, species_mask
from ._kernels.altbc import collinear_pair_histogram

__all__ = ["altbc"]


def altbc(frames, *, r_min: float = 2.5, r_max: float = 4.0, angle_tolerance: float = 25.0, bin_width: float = 0.02,
          centre=None, normalize: bool = False, index=None, block_size: int = DEFAULT_BLOCK_SIZE, parallel=None,
          show_progress=None) -> xr.DataArray:
    """The ALTBC map P(r1, r2), averaged over frames, and the mean long/short bond ratio.

    Parameters
    ----------
    frames : path, Frame, ase.Atoms, Trajectory or iterable of them
    r_min, r_max : float
        Distance window in Å (default 2.5-4.0 Å).
    angle_tolerance : float
        δ in degrees: pairs with angle j-i-k >= 180° - δ count (default 25°).
    bin_width : float
        Bin width in Å along r1 and r2 (default 0.02 Å).
    centre : str or list of str, optional
        Centre species (default all atoms).
    normalize : bool
        Divide by the ideal-gas value 8π²ρ² r1² r2² (1 - cos δ), ρ the
        number density (periodic frames only): 1 means uncorrelated.
    index, block_size, parallel, show_progress
        As in :func:`gstorder.rdf`.

    Returns
    -------
    xarray.DataArray
        Over (``r1``, ``r2``) in Å, symmetric; in 1/Å² per centre (or
        dimensionless when normalised). ``attrs`` hold the parameters,
        ``n_centres`` (summed over frames), ``n_collinear`` (unordered
        collinear pairs) and ``long_short_ratio``, the mean of
        max(r_ij, r_ik) / min(r_ij, r_ik) over the collinear pairs.

    Examples
    --------
    >>> from gstorder import altbc, structures
    >>> p = altbc(structures.trigonal("GeTe", (3, 3, 1), functional="experiment"))
    >>> [round(float(x), 2) for x in p.where(p == p.max(), drop=True).r1]
    [2.85, 3.15]
    """
    if not 0 < angle_tolerance < 90:
        raise ValueError(f"angle_tolerance must lie in (0, 90) degrees, got {angle_tolerance}")
    if not 0 <= r_min < r_max:
        raise ValueError(f"need 0 <= r_min < r_max, got r_min={r_min}, r_max={r_max} Å")
    edges = bin_edges(float(r_min), float(r_max), bin_width, None, what="altbc")
    n_bins = len(edges) - 1
    cos_max = np.cos(np.radians(180.0 - angle_tolerance))
    hist = np.zeros((n_bins, n_bins))
    n_centres = n_collinear = n_frames = 0
    ratio_sum, ideal = 0.0, 0.0
    for frame in analysis_frames(frames, index, desc="altbc", show_progress=show_progress):
        mask = species_mask(frame, centre, what="centre")
        frame_counts = np.zeros((n_bins, n_bins), dtype=np.int64)
        for nl in neighbors.iter_blocks(frame, float(r_max), block_size=block_size, centers=mask, parallel=parallel):
            counts, ratio, count = collinear_pair_histogram(nl.offsets, nl.vectors, nl.distances, float(r_min), float(r_max),
                                                            cos_max, n_bins, n_tasks(len(nl.centers), parallel))
            frame_counts += counts
            ratio_sum += ratio
            n_collinear += count
        n_c = int(mask.sum())
        if normalize:
            rho = len(frame) / frame.volume
            ideal += n_c * rho**2  # weight each frame's ideal-gas value by its centres
        hist += frame_counts
        n_centres += n_c
        n_frames += 1
    area = np.diff(edges)[:, None] * np.diff(edges)[None, :]
    p = hist / (n_centres * area)
    r = centres(edges)
    units, name = "1/Å²", "ALTBC P(r1, r2)"
    if normalize:
        shape = 8 * np.pi**2 * (1 - np.cos(np.radians(angle_tolerance))) * (r[:, None] ** 2) * (r[None, :] ** 2)
        p = p / (shape * ideal / n_centres)
        units, name = "", "ALTBC P(r1, r2) / ideal gas"
    return xr.DataArray(
        p, dims=("r1", "r2"),
        coords={"r1": ("r1", r, {"long_name": "r1", "units": "Å"}), "r2": ("r2", r, {"long_name": "r2", "units": "Å"})},
        name="altbc",
        attrs={"long_name": name, "units": units,
               **attrs_of(r_min=float(r_min), r_max=float(r_max), angle_tolerance=float(angle_tolerance),
                          bin_width=(float(r_max) - float(r_min)) / n_bins, centre=centre, normalize=normalize, n_frames=n_frames,
                          n_centres=n_centres, n_collinear=int(n_collinear),
                          long_short_ratio=ratio_sum / n_collinear if n_collinear else np.nan)},
    )
