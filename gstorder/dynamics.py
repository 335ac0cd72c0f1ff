"""Dynamics over a trajectory: unwrapped coordinates, mean square displacement, mass density (Fig. 3b), self-diffusion
coefficients from the MSD over every time origin, velocity autocorrelation and vibrational density of states.

The all-origin correlations use FFTs (O(T log T) in the number of frames T;
Calandrini et al. 2011, as in MDAnalysis' ``EinsteinMSD(fft=True)`` and
tidynamics): for one coordinate x(t), t = 0..T-1, and lag m,
MSD(m) = S1(m) - 2 S2(m) with S1(m) = Σ_{t<T-m} [x(t)² + x(t+m)²] / (T-m)
and S2(m) = Σ_{t<T-m} x(t) x(t+m) / (T-m), the autocorrelation, from the
power spectrum of x zero-padded to 2T. Sums over atoms are taken on the
power spectra, so each species costs one inverse transform.
"""

from __future__ import annotations

import warnings
from typing import Iterator

import numpy as np
import xarray as xr

from . import _checks
from ._labels import attrs_of, frame_coords
from .frames import inverse_cell
from .pipeline import Analysis, Part, analysis_frames
from .registry import Figure, Parameter, Requires, public, register
from .species import frame_species
from .errors import GstorderWarning, InconsistentFramesError, InvalidArgumentError, MissingDataError
from .frames import Frame
from ._figures import _new_figure, _number, _timed, species_time_figure
from . import plot

__all__ = ["unwrapped_positions", "Unwrapper", "msd", "density", "diffusion", "vibrations", "MSD", "Density", "Diffusion",
           "Vibrations", "correlation_sums"]


class Unwrapper:
    """Unwrapped positions along a trajectory, one frame after the other.

    LAMMPS image flags (``frame.arrays["image"]``) are used when present;
    otherwise the image counts are found from the fractional coordinates'
    jumps since the previous frame (so variable and triclinic cells work),
    which is exact as long as no atom moves more than half a cell between
    two frames. Atoms may cross the box any number of times. Either way the
    unwrapped position is the position plus whole cell vectors of the frame's
    own cell, so a box that grows or shrinks (NPT) moves the atoms with it.
    """

    def __init__(self):
        self.previous, self.unwrapped, self.images = None, None, None

    def add(self, frame: Frame) -> np.ndarray:
        """Unwrapped positions (Å) of ``frame``, the next frame of the trajectory."""
        previous = self.previous
        if previous is not None and len(frame) != len(previous):
            raise InconsistentFramesError(f"{frame.describe()} has {len(frame)} atoms, the first frame {len(previous)}; "
                                          "unwrapping needs the same atoms")
        if "image" in frame.arrays and frame.pbc.any():
            self.images = np.asarray(frame.arrays["image"], dtype=float).reshape(len(frame), 3)
            self.unwrapped = frame.positions + self.images @ frame.cell
        elif previous is None or not frame.pbc.any():
            self.unwrapped, self.images = frame.positions.copy(), np.zeros((len(frame), 3))
        else:
            step = frame.positions @ inverse_cell(frame) - previous.positions @ inverse_cell(previous)
            self.images[:, frame.pbc] -= np.round(step[:, frame.pbc])
            self.unwrapped = frame.positions + self.images @ np.linalg.inv(inverse_cell(frame))
        self.previous = frame
        return self.unwrapped


def unwrapped_positions(frames, *, index=None, show_progress=None, desc="unwrap") -> Iterator[tuple[Frame, np.ndarray]]:
    """Yield ``(frame, unwrapped positions in Å)`` along a trajectory (see :class:`Unwrapper`)."""
    unwrap = Unwrapper()
    for frame in analysis_frames(frames, index, desc=desc, show_progress=show_progress):
        yield frame, unwrap.add(frame)


class MSD(Analysis):
    """:func:`msd` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`)."""

    name = "msd"
    order = 80
    summary = "mean square displacement per species"
    sequential = True
    same_atoms = True
    selectable = True
    parameters = (
        Parameter("per_species", True, "also report each species (msd_species)", check=_checks.flag, kind="bool"),
        Parameter("remove_drift", False, "subtract the centre-of-mass displacement of each frame first",
                  check=_checks.flag, kind="bool"),
    )
    requires = Requires(several_frames=True)

    def setup(self, frame):
        self.unwrap, self.origin, self.warned = Unwrapper(), None, False
        self.species, self.types = frame_species(frame)
        self.masses = frame.atom_masses
        self.chosen = self.centre_mask(frame)

    def end_frame(self, state, frame) -> Part:
        pos = self.unwrap.add(frame)
        if self.origin is None:
            self.origin = pos.copy()
        d = pos - self.origin
        if self.remove_drift:
            d -= (self.masses[:, None] * d).sum(axis=0) / self.masses.sum()
        sq = (d**2).sum(axis=1)
        lost = ~np.isfinite(sq) & self.chosen
        if lost.any() and not self.warned:  # once: an atom's unwrapped path stays NaN after its first NaN position
            self.warned = True
            atom, n = int(np.argmax(lost)), int(lost.sum())
            warnings.warn(f"msd: {frame.describe()}: atom {atom} has a non-finite position ({n} atom{'s' * (n != 1)} in "
                          f"all); the mean square displacements that include {'it' if n == 1 else 'them'} are NaN from "
                          "this frame on", GstorderWarning, stacklevel=2)
        with np.errstate(invalid="ignore"):
            return Part([sq[self.chosen].mean()] + [sq[self.chosen & (self.types == k)].mean() if
                                                    (self.chosen & (self.types == k)).any() else np.nan
                                                    for k in range(len(self.species))])

    def result(self, parts, times) -> xr.Dataset:
        rows = np.array([p.data for p in parts])
        ds = xr.Dataset({"msd": ("frame", rows[:, 0], {"long_name": "mean square displacement", "units": "Å²"})},
                        coords=frame_coords(times),
                        attrs=attrs_of(analysis="msd", remove_drift=self.remove_drift, origin="first frame"))
        if self.per_species:
            ds["msd_species"] = xr.DataArray(rows[:, 1:], dims=("frame", "species"), coords={"species": self.species},
                                             attrs={"long_name": "mean square displacement", "units": "Å²"})
        return ds


class Density(Analysis):
    """:func:`density` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`)."""

    name = "density"
    order = 90
    summary = "mass density per frame"
    rows_section = "run"
    requires = Requires(periodic=True)

    def end_frame(self, state, frame) -> Part:
        if not frame.pbc.all():
            raise MissingDataError(f"{frame.describe()} is not periodic in all directions; its density needs a cell volume")
        return Part((frame.mass_density, len(frame) / frame.volume, frame.volume))

    def result(self, parts, times) -> xr.Dataset:
        rows = np.array([p.data for p in parts])
        return xr.Dataset(
            {"density": ("frame", rows[:, 0], {"long_name": "mass density", "units": "g/cm³"}),
             "number_density": ("frame", rows[:, 1], {"long_name": "number density", "units": "1/Å³"}),
             "volume": ("frame", rows[:, 2], {"long_name": "cell volume", "units": "Å³"})},
            coords=frame_coords(times), attrs={"analysis": "density"},
        )


register(MSD)
register(Density)


@public(MSD)
def msd(frames, **options) -> xr.Dataset:
    """Mean square displacement from the first frame, from unwrapped coordinates.

    A trajectory with the same atoms in every frame (the same count and the
    same species, atom by atom; :class:`~gstorder.errors.InconsistentFramesError`
    otherwise). With ``select=`` the mean is over the selected atoms of the
    first frame. An atom with a non-finite position makes the means it
    enters NaN from that frame on, with a :class:`~gstorder.errors.GstorderWarning`.

    Returns
    -------
    xarray.Dataset
        ``msd`` (frame) and ``msd_species`` (frame, species) in Å², with
        ``time`` (ps) on ``frame``.

    Examples
    --------
    >>> import numpy as np
    >>> from ase import Atoms
    >>> from gstorder import msd
    >>> frames = [Atoms("Ge", positions=[[0.5 * t, 0, 0]], cell=[3, 3, 3], pbc=True) for t in range(4)]
    >>> msd(frames).msd.values.tolist()
    [0.0, 0.25, 1.0, 2.25]
    """
    return MSD.call(frames, options)


@public(Density)
def density(frames, **options) -> xr.Dataset:
    """Mass density (g/cm³), number density (Å⁻³) and volume (Å³) per frame, e.g. along an NPT run.

    Raises
    ------
    MissingDataError
        For a frame that is not periodic in all three directions.
    SingularCellError
        For a frame whose cell vectors are (nearly) linearly dependent.
    InvalidArgumentError
        For a frame with a non-finite cell entry (named), or masses that are
        not positive and finite (refused when the frame is made).

    Examples
    --------
    >>> from gstorder import density, structures
    >>> round(float(density(structures.rocksalt("GeTe", 1, a=6.0)).density[0]), 3)
    6.157
    """
    return Density.call(frames, options)


# --------------------------------------------------------------------------- figures and key numbers


def _msd_rows(ds, tree):
    if not np.isfinite(ds.msd.values[-1]):
        return []
    when = _number(ds.time.values[-1])
    text = f"{float(ds.msd.values[-1]):.3f} Å²" + (f" at {when:g} ps" if np.isfinite(when) else " at the last frame")
    if "msd_species" in ds:
        last = ds.msd_species.isel(frame=-1)
        text += " (" + ", ".join(f"{s} {float(v):.3f}" for s, v in zip(last.species.values, last.values)) + ")"
    return [("MSD", text)]


def _msd_figure(ds):
    return species_time_figure(ds, "msd", "msd_species", plot.msd)[0]


def _density_rows(ds, tree):
    if not np.isfinite(ds.density.values).any():
        return []
    d = ds.density.values[np.isfinite(ds.density.values)]
    text = f"{d.mean():.3f} g/cm³"
    if np.ptp(d) > 0:
        text += f" (range {d.min():.3f}-{d.max():.3f})"
    return [("density", text)]


def _density_figure(ds):
    if ds.sizes["frame"] < 2 or not np.isfinite(ds.density.values).any():
        return None
    ds, xlabel = _timed(ds)
    fig, ax = _new_figure()
    plot.density(ds, ax=ax)
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.set_xlabel(xlabel)
    return fig


MSD.figures = (Figure("msd", _msd_figure,
                      "Mean square displacement from the first frame, all atoms and per species (cf. paper Fig. 3b, "
                      "right)."),)
Density.figures = (Figure("density", _density_figure,
                          "Mass density per frame (cf. paper Fig. 3b, middle)."),)
MSD.rows = staticmethod(_msd_rows)
Density.rows = staticmethod(_density_rows)


# --------------------------------------------------------------------------- all-origin correlations


#: Bytes of one FFT chunk of atoms (their spectra), which bounds the memory of the correlations.
FFT_BYTES = 64 * 2**20


def correlation_sums(x: np.ndarray, groups: np.ndarray, n_groups: int, *, msd: bool) -> np.ndarray:
    """Per group, the all-origin MSD (``msd=True``) or autocorrelation of ``x``, summed over its atoms and coordinates.

    Parameters
    ----------
    x : ndarray, shape (T, n, 3)
        A series over T equally spaced frames (unwrapped positions in Å, or velocities).
    groups : ndarray of int, shape (n,)
        Each atom's group in [0, n_groups).

    Returns
    -------
    ndarray, shape (n_groups, T)
        At lag m: Σ_atoms Σ_t |x(t+m) - x(t)|² / (T-m) or Σ_atoms Σ_t x(t)·x(t+m) / (T-m), t < T-m.
    """
    import numba
    from scipy import fft

    n_frames, n_atoms = x.shape[:2]
    size = fft.next_fast_len(2 * n_frames, real=True)
    spectrum = np.zeros((n_groups, size // 2 + 1))
    square = np.zeros((n_groups, n_frames))
    chunk = max(1, FFT_BYTES // (16 * 3 * (size // 2 + 1)))
    for start in range(0, n_atoms, chunk):
        block = x[:, start : start + chunk]
        if msd:  # the MSD ignores a constant shift: centring each coordinate keeps S1 - 2 S2 free of cancellation
            block = block - block.mean(axis=0)
        f = fft.rfft(block, n=size, axis=0, workers=numba.get_num_threads())
        power = (f.real**2 + f.imag**2).sum(axis=2)
        g = groups[start : start + chunk]
        for k in range(n_groups):
            mine = g == k
            if mine.any():
                spectrum[k] += power[:, mine].sum(axis=1)
                if msd:
                    square[k] += (block[:, mine] ** 2).sum(axis=(1, 2))
    lags = np.arange(n_frames)
    auto = fft.irfft(spectrum, n=size, axis=1)[:, :n_frames]
    if not msd:
        return auto / (n_frames - lags)
    prefix = np.concatenate([np.zeros((n_groups, 1)), np.cumsum(square, axis=1)], axis=1)  # prefix[:, k] = Σ_{t<k}
    s1 = prefix[:, n_frames - lags] + prefix[:, n_frames : n_frames + 1] - prefix[:, lags]
    return (s1 - 2.0 * auto) / (n_frames - lags)


def frame_interval(times: np.ndarray, interval_ps, what: str) -> float:
    """The constant time between frames (ps): ``interval_ps`` or the frames' times, which must be equally spaced."""
    if interval_ps is not None:
        return float(interval_ps)
    if not np.isfinite(times).all():
        raise MissingDataError(f"{what} needs the time between frames and these frames carry no times; pass interval_ps= "
                               "or read the trajectory with timestep_fs=")
    steps = np.diff(times)
    dt = float(np.median(steps))
    if not dt > 0 or np.abs(steps - dt).max() > 1e-6 * dt + 1e-9:
        raise InconsistentFramesError(f"{what} needs equally spaced frames; the time steps range from {steps.min():g} to "
                                      f"{steps.max():g} ps: select equally spaced frames with index=")
    return dt


def _fraction_pair(name, value):
    if isinstance(value, str) or not hasattr(value, "__len__") or len(value) != 2:
        raise InvalidArgumentError(f"{name} must be two fractions [start, end] of the longest lag, got {value!r}")
    start, end = (_checks.real(f"{name}[{k}]", v, low=0.0, high=1.0) for k, v in enumerate(value))
    if not start < end:
        raise InvalidArgumentError(f"{name} must start before it ends, got {[start, end]}")
    return [start, end]


def fit_lags(n_frames: int, fit_range) -> np.ndarray:
    """Lag indices (in frames) of the linear fit: the given fractions of the longest lag, n_frames - 1."""
    longest = n_frames - 1
    return np.arange(int(np.ceil(fit_range[0] * longest - 1e-9)), int(np.floor(fit_range[1] * longest + 1e-9)) + 1)


def _fit_line(lag_ps: np.ndarray, msd: np.ndarray, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """D (Å²/ps) and intercept (Å²) of MSD = 6 D t + c over the ``chosen`` lags, for each row of ``msd``."""
    t = lag_ps[chosen]
    design = np.stack([t, np.ones_like(t)], axis=1)
    rows = msd[:, chosen]
    ok = np.isfinite(rows).all(axis=1)
    slope, intercept = np.full(len(msd), np.nan), np.full(len(msd), np.nan)
    if ok.any():
        coef = np.linalg.lstsq(design, rows[ok].T, rcond=None)[0]
        slope[ok], intercept[ok] = coef[0] / 6.0, coef[1]
    return slope, intercept


def _grouped(species, types, masses=None):
    """Per species counts (and mean masses) of the chosen atoms."""
    ns = len(species)
    n = np.bincount(types, minlength=ns).astype(float)
    if masses is None:
        return n
    with np.errstate(invalid="ignore", divide="ignore"):
        return n, np.bincount(types, masses, minlength=ns) / n


class Diffusion(Analysis):
    """:func:`diffusion` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`)."""

    name = "diffusion"
    order = 82
    summary = "MSD over every time origin (FFT) per species, and self-diffusion coefficients D with their uncertainty"
    sequential = True
    same_atoms = True
    selectable = True
    windowed = False  # D needs the long lags of the whole run (16 frames or more); a window would starve the fit
    parameters = (
        Parameter("fit_range", [0.05, 0.2], "lags over which MSD = 6 D t + c is fitted, as fractions [start, end] of the "
                  "longest lag (the MSD of long lags averages few origins)", "", _fraction_pair, kind="list"),
        Parameter("blocks", 4, "consecutive blocks of frames whose spread of D (fitted over the same lags) gives D_error",
                  "",
                  lambda n, v: _checks.count(n, v, minimum=2), kind="int"),
        Parameter("remove_drift", False, "subtract the centre-of-mass displacement of each frame first",
                  check=_checks.flag, kind="bool"),
        Parameter("interval_ps", None, "time between frames (unset: from the frame times)", "ps", _checks.positive),
    )
    requires = Requires(several_frames=True, min_frames=16, times=True)  # the default fit_range holds 3 lags from 16 frames on

    def setup(self, frame):
        self.unwrap = Unwrapper()
        self.species, types = frame_species(frame)
        self.chosen = self.centre_mask(frame)
        self.types, self.masses = types[self.chosen], frame.atom_masses[self.chosen]

    def end_frame(self, state, frame) -> Part:
        return Part(self.unwrap.add(frame)[self.chosen])

    def result(self, parts, times) -> xr.Dataset:
        x = np.stack([p.data for p in parts])
        n_frames = len(x)
        dt = frame_interval(times, self.interval_ps, "diffusion")
        chosen = fit_lags(n_frames, self.fit_range)
        if len(chosen) < 3:
            raise MissingDataError(f"too few frames for D: {n_frames} frames put {len(chosen)} lags in fit_range="
                                   f"{self.fit_range} of the longest lag; the fit needs at least 3 (about "
                                   f"{int(np.ceil(3 / (self.fit_range[1] - self.fit_range[0]))) + 1} frames or more)")
        if self.remove_drift:
            x = x - (self.masses[None, :, None] * x).sum(axis=1, keepdims=True) / self.masses.sum()
        msd, lag = self._msd(x), dt * np.arange(n_frames)
        d, intercept = _fit_line(lag, msd, chosen)
        size = n_frames // self.blocks
        per_block = np.full((self.blocks, len(msd)), np.nan)
        if size > chosen[-1]:  # each block fitted over the same lags as the whole run
            for b in range(self.blocks):
                per_block[b] = _fit_line(lag[:size], self._msd(x[b * size : (b + 1) * size]), chosen)[0]
        else:
            warnings.warn(f"diffusion: {self.blocks} blocks of {size} frames are shorter than the fit, which ends at lag "
                          f"{lag[chosen[-1]]:g} ps ({chosen[-1]} frames); D_error is NaN: use fewer blocks or an earlier "
                          "fit end (fit_range)", GstorderWarning, stacklevel=3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            error = np.nanstd(per_block, axis=0, ddof=1) / np.sqrt(np.isfinite(per_block).sum(axis=0))
        labels = self.species + ["all"]
        per_ps2 = {"units": "Å²/ps"}
        return xr.Dataset(
            {
                "msd": (("species", "lag"), msd, {"long_name": "mean square displacement over every origin", "units": "Å²"}),
                "D": ("species", d, {**per_ps2, "long_name": "self-diffusion coefficient"}),
                "D_error": ("species", error, {**per_ps2, "long_name": "standard error of D (spread over blocks)"}),
                "D_block": (("block", "species"), per_block, {**per_ps2, "long_name": "D of each block of frames"}),
                "intercept": ("species", intercept, {"long_name": "intercept of the fitted line", "units": "Å²"}),
                "n_atoms": ("species", np.append(_grouped(self.species, self.types), len(self.types)),
                            {"long_name": "atoms averaged", "units": ""}),
            },
            coords={"species": labels, "lag": ("lag", lag, {"long_name": "time lag", "units": "ps"}),
                    "block": np.arange(self.blocks)},
            attrs=attrs_of(analysis="diffusion", fit_start_ps=float(lag[chosen[0]]), fit_end_ps=float(lag[chosen[-1]]),
                           fit_range=self.fit_range, blocks=self.blocks, block_frames=size, interval_ps=dt,
                           remove_drift=self.remove_drift, time_first=times[0], time_last=times[-1],
                           select=None if self.selection is None else repr(self.selection)),
        )

    def _msd(self, x) -> np.ndarray:
        """All-origin MSD per species and of every atom (n_species + 1, T)."""
        sums = correlation_sums(x, self.types, len(self.species), msd=True)
        n = _grouped(self.species, self.types)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.vstack([sums / n[:, None], sums.sum(axis=0, keepdims=True) / n.sum()])


class Vibrations(Analysis):
    """:func:`vibrations` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`)."""

    name = "vibrations"
    order = 84
    summary = "velocity autocorrelation and vibrational density of states per species"
    same_atoms = True
    selectable = True
    windowed = False  # the VDOS resolution is set by the run length
    parameters = (
        Parameter("max_lag_ps", None, "longest lag of the VACF transformed (unset: half the run)", "ps", _checks.positive),
        Parameter("taper", "hann", "window on the VACF before its transform: 'hann' or 'none'",
                  check=lambda n, v: _checks.choice(n, v, ("hann", "none")), kind="str"),
        Parameter("interval_ps", None, "time between frames (unset: from the frame times)", "ps", _checks.positive),
    )
    requires = Requires(velocities=True, several_frames=True, times=True)

    def setup(self, frame):
        self.species, types = frame_species(frame)
        self.chosen = self.centre_mask(frame)
        self.types, self.masses = types[self.chosen], frame.atom_masses[self.chosen]

    def end_frame(self, state, frame) -> Part:
        if frame.velocities is None:
            raise MissingDataError(f"{frame.describe()} carries no velocities; the VACF and VDOS need them (in LAMMPS: "
                                   "dump custom ... vx vy vz)")
        return Part(frame.velocities[self.chosen])

    def result(self, parts, times) -> xr.Dataset:
        v = np.stack([p.data for p in parts])
        n_frames = len(v)
        dt = frame_interval(times, self.interval_ps, "vibrations")
        n_lags = n_frames // 2 + 1 if self.max_lag_ps is None else int(np.floor(self.max_lag_ps / dt + 1e-9)) + 1
        if n_lags > n_frames or n_lags < 2:
            raise InvalidArgumentError(f"max_lag_ps={self.max_lag_ps} ps must lie between one frame interval ({dt:g} ps) "
                                       f"and the run's length ({(n_frames - 1) * dt:g} ps)")
        sums = correlation_sums(v, self.types, len(self.species), msd=False)[:, :n_lags]
        n, mass = _grouped(self.species, self.types, self.masses)
        with np.errstate(invalid="ignore", divide="ignore"):
            vacf = np.vstack([sums / n[:, None], sums.sum(axis=0, keepdims=True) / n.sum()])
        weighted = np.vstack([vacf[:-1], np.nansum(sums * mass[:, None], axis=0, keepdims=True)])  # "all": Σ m_j C_j
        lag = dt * np.arange(n_lags)
        frequency = np.arange(0.0, 0.5 / dt + 1e-12, 1.0 / (4.0 * (n_lags - 1) * dt))
        taper = 0.5 * (1.0 + np.cos(np.pi * np.arange(n_lags) / (n_lags - 1))) if self.taper == "hann" else np.ones(n_lags)
        factor = np.full(n_lags, 2.0)
        factor[0] = 1.0
        spectrum = dt * (weighted * taper * factor) @ np.cos(2.0 * np.pi * np.outer(lag, frequency))
        area = spectrum.sum(axis=1, keepdims=True) * (frequency[1] - frequency[0])
        with np.errstate(invalid="ignore", divide="ignore"):
            vdos = spectrum / area
            normalised = vacf / vacf[:, :1]
        labels = self.species + ["all"]
        return xr.Dataset(
            {
                "vacf": (("species", "lag"), vacf, {"long_name": "velocity autocorrelation <v(0)·v(t)>", "units": "Å²/ps²"}),
                "vacf_normalized": (("species", "lag"), normalised, {"long_name": "normalised VACF", "units": ""}),
                "vdos": (("species", "frequency"), vdos, {"long_name": "vibrational density of states", "units": "1/THz"}),
            },
            coords={"species": labels, "lag": ("lag", lag, {"long_name": "time lag", "units": "ps"}),
                    "frequency": ("frequency", frequency, {"long_name": "frequency", "units": "THz"})},
            attrs=attrs_of(analysis="vibrations", interval_ps=dt, max_lag_ps=float(lag[-1]), taper=self.taper,
                           resolution_THz=1.0 / (lag[-1]), normalisation="unit area; 'all' from the mass-weighted VACF",
                           select=None if self.selection is None else repr(self.selection)),
        )


def _draw_diffusion(ds):
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(4.5, 3.2), layout="constrained")
    ax = fig.subplots()
    t0, t1 = ds.attrs["fit_start_ps"], ds.attrs["fit_end_ps"]
    for s in ds.species.values:
        line, = ax.plot(ds.lag, ds.msd.sel(species=s), lw=1.2, label=f"{s}: D = {float(ds.D.sel(species=s)):.3g} Å²/ps")
        t = np.array([t0, t1])
        ax.plot(t, 6 * float(ds.D.sel(species=s)) * t + float(ds.intercept.sel(species=s)), color=line.get_color(), ls="--",
                lw=0.8)
    ax.set_xlabel("time lag (ps)")
    ax.set_ylabel("MSD (Å²)")
    ax.legend(frameon=False, fontsize="small")
    return fig


def _draw_vibrations(ds):
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(4.5, 3.2), layout="constrained")
    ax = fig.subplots()
    for s in ds.species.values:
        ax.plot(ds.frequency, ds.vdos.sel(species=s), lw=1.2 if s != "all" else 1.6, color="k" if s == "all" else None,
                label=s)
    ax.set_xlabel("frequency (THz)")
    ax.set_ylabel("VDOS (1/THz)")
    ax.legend(frameon=False, fontsize="small")
    return fig


def _diffusion_rows(ds, tree):
    return [("D", ", ".join(f"{s} {float(d):.3g} ± {float(e):.2g}" for s, d, e in zip(ds.species.values, ds.D.values,
                                                                                     ds.D_error.values)) + " Å²/ps")]


def _vibration_rows(ds, tree):
    peaks = ds.vdos.fillna(0).idxmax("frequency")
    return [("VDOS peak", ", ".join(f"{s} {float(p):.2f}" for s, p in zip(ds.species.values, peaks.values)) + " THz")]


Diffusion.figures = (Figure("diffusion", _draw_diffusion, "All-origin MSD per species with the fitted lines that give D."),)
Diffusion.rows = staticmethod(_diffusion_rows)
Vibrations.figures = (Figure("vibrations", _draw_vibrations, "Vibrational density of states per species."),)
Vibrations.rows = staticmethod(_vibration_rows)
register(Diffusion)
register(Vibrations)


@public(Diffusion)
def diffusion(frames, **options) -> xr.Dataset:
    """Mean square displacement over every time origin, per species, and self-diffusion coefficients D.

    Equally spaced frames of the same atoms, unwrapped as in
    :class:`Unwrapper`. The MSD at lag t averages |r(t0 + t) - r(t0)|² over
    every origin t0 (by FFT, O(T log T)); D is the slope / 6 of a straight
    line fitted over ``fit_range`` of the longest lag, and ``D_error`` the
    standard error of D over ``blocks`` consecutive blocks of frames (each
    fitted over the same fractions of its own longest lag). With ``select=``
    the atoms are those selected in the first frame.

    Raises
    ------
    MissingDataError
        For frames without times when ``interval_ps`` is not given, or too
        few frames for the fit (at least 3 lags in ``fit_range``).
    InconsistentFramesError
        For frames that are not equally spaced in time, or whose atoms differ.

    Returns
    -------
    xarray.Dataset
        ``msd`` (species, lag) in Å², ``D``, ``D_error`` (species) in Å²/ps,
        ``D_block`` (block, species), ``intercept`` (species) in Å²,
        ``n_atoms`` (species); species ``"all"`` averages every atom; ``lag`` in ps.

    Examples
    --------
    >>> import numpy as np
    >>> from ase import Atoms
    >>> from gstorder import diffusion
    >>> frames = [Atoms("Ge", positions=[[0.5 * t, 0, 0]], cell=[3, 3, 3], pbc=True, info={"time_ps": 0.1 * t})
    ...           for t in range(40)]
    >>> ds = diffusion(frames)
    >>> ds.msd.sel(species="Ge").values[:3].round(6).tolist()  # ballistic: (0.5 Å per frame)²
    [0.0, 0.25, 1.0]
    """
    return Diffusion.call(frames, options)


@public(Vibrations)
def vibrations(frames, **options) -> xr.Dataset:
    """Velocity autocorrelation function and vibrational density of states, per species.

    Equally spaced frames with velocities (Å/ps). The VACF averages
    v(t0)·v(t0 + t) over every origin t0 and atom (by FFT); the VDOS is its
    cosine transform, tapered with a Hann window over ``max_lag_ps``
    (resolution about 1/max_lag_ps), each normalised to unit area. The
    ``"all"`` VDOS is the transform of the mass-weighted VACF, the phonon
    density of states of a harmonic solid.

    Raises
    ------
    MissingDataError
        For frames without velocities, or without times when ``interval_ps`` is not given.
    InvalidArgumentError
        For ``max_lag_ps`` shorter than one interval or longer than the run.

    Returns
    -------
    xarray.Dataset
        ``vacf`` (species, lag) in Å²/ps², ``vacf_normalized`` (species,
        lag), ``vdos`` (species, frequency) in 1/THz; ``lag`` in ps,
        ``frequency`` in THz up to the Nyquist frequency 1/(2 interval).

    Examples
    --------
    >>> import numpy as np
    >>> from ase import Atoms
    >>> from gstorder import vibrations
    >>> t = 0.01 * np.arange(400)  # ps; one atom oscillating at 2 THz
    >>> frames = [Atoms("Ge", positions=[[np.cos(4 * np.pi * x), 0, 0]], velocities=[[-4 * np.pi * np.sin(4 * np.pi * x), 0, 0]],
    ...                 cell=[5, 5, 5], pbc=True, info={"time_ps": x}) for x in t]
    >>> round(float(vibrations(frames).vdos.sel(species="Ge").idxmax()), 1)
    2.0
    """
    return Vibrations.call(frames, options)
