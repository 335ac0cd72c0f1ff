"""Temperature maps and profiles from atomic velocities (paper Figs 5c, f; Supplementary Fig. 6).

Per-atom kinetic energy after removing the centre-of-mass velocity,
KE_i = ½ m_i |v_i − v_cm|². A map sums KE and degrees of freedom (3 per
atom) per pixel of a plane, averaging over the third axis (and optionally
over several frames); T = 2 ΣKE / (k_B ΣDOF). Smoothing applies one
Gaussian filter to ΣKE and to ΣDOF and divides afterwards, so empty pixels
do not bias their neighbours. Fixed atoms carry no kinetic degrees of
freedom and are left out.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from ase import units
from scipy.ndimage import gaussian_filter, zoom

from ._labels import attrs_of, frame_coords
from .frames import axis_coordinates
from .parallel import n_tasks
from .pipeline import Analysis, Part
from .registry import Figure, Parameter, Requires, public, register
from ._kernels.thermal import binned_sums
from . import _checks
from .errors import ArgumentTypeError, GstorderWarning, InvalidArgumentError
from ._figures import _new_figure, _number, _nanmean
from . import plot

__all__ = ["temperature_map", "radial_temperature", "atom_temperatures", "kinetic_energies", "KB_EV", "EV_PER_AMU_A2_PS2"]

#: Boltzmann constant in eV/K.
KB_EV = units.kB
#: One amu Å² / ps² in eV.
EV_PER_AMU_A2_PS2 = units._amu * 1e-20 / 1e-24 / units._e


def kinetic_energies(frame, *, exclude="fixed", com="frame") -> tuple[np.ndarray, np.ndarray]:
    """Per-atom kinetic energies (eV) relative to the centre-of-mass velocity, and the mask of counted atoms.

    Parameters
    ----------
    frame : Frame or ase.Atoms
        With velocities (Å/ps).
    exclude : 'fixed', None, or boolean mask / indices
        Atoms without kinetic degrees of freedom. ``'fixed'`` uses the
        frame's per-atom ``fixed`` array (gstorder's mushroom cell) or ASE's
        ``move_mask`` (False = fixed), when present.
    com : 'frame', None, or boolean mask / indices
        Whose centre-of-mass velocity is removed: all counted atoms
        (default), none, or a region (e.g. the moving part).

    Returns
    -------
    ke : ndarray (n_atoms,)
        eV; 0 for excluded atoms.
    counted : ndarray of bool (n_atoms,)
    """
    from .frames import as_frame

    frame = as_frame(frame)
    v = frame.require_velocities()
    counted = ~_mask(frame, exclude, "exclude", default_fixed=True)
    bad = ~np.isfinite(v).all(axis=1)
    if bad.any():  # one NaN velocity would otherwise turn every pixel it is smoothed into NaN
        first = int(np.flatnonzero(bad)[0])
        warnings.warn(f"{frame.describe()}: {int(bad.sum())} atoms have non-finite velocities (first: atom {first}, "
                      f"{v[first].tolist()}); they are left out of the kinetic energies", GstorderWarning, stacklevel=3)
        counted &= ~bad
        v = np.where(bad[:, None], 0.0, v)
    m = frame.atom_masses
    if com is None:
        v_cm = np.zeros(3)
    else:
        if isinstance(com, str):
            _checks.choice("com", com, ("frame", None))
            region = counted
        else:
            region = _mask(frame, com, "com") & counted
        mass = m[region].sum()
        v_cm = (m[region, None] * v[region]).sum(axis=0) / mass if mass > 0 else np.zeros(3)
    ke = 0.5 * m * ((v - v_cm) ** 2).sum(axis=1) * EV_PER_AMU_A2_PS2
    ke[~counted] = 0.0
    return ke, counted


class AtomTemperatures(Analysis):
    """:func:`atom_temperatures` as an analysis of the one-pass runner."""

    name = "atom_temperatures"
    summary = "kinetic temperature of every atom"
    same_atoms = True
    parameters = (
        Parameter("exclude", "fixed", "atoms left out (NaN): 'fixed', none, or (Python) a mask or atom indices",
                  check=lambda name, v: _exclude_check(name, v), kind="str"),
        Parameter("com", "frame", "centre-of-mass velocity removed: of the 'frame' (its counted atoms) or (Python) a mask",
                  check=lambda name, v: _com_check(name, v), kind="str"),
    )
    requires = Requires(velocities=True)

    def end_frame(self, state, frame) -> Part:
        ke, counted = kinetic_energies(frame, exclude=self.exclude, com=self.com)
        t = 2.0 * ke / (3.0 * KB_EV)
        t[~counted] = np.nan
        return Part(t)

    def result(self, parts, times) -> xr.DataArray:
        return xr.DataArray(np.array([p.data for p in parts]), dims=("frame", "atom"), coords=frame_coords(times),
                            name="temperature", attrs={"long_name": "kinetic temperature", "units": "K"})


@public(AtomTemperatures, run_options=("index", "parallel", "workers", "show_progress"))
def atom_temperatures(frames, **options) -> xr.DataArray:
    """Per-atom kinetic temperatures T_i = 2 KE_i / (3 k_B), in K, over (frame, atom); NaN for excluded atoms."""
    return AtomTemperatures.call(frames, options)


def _plane_check(name, value):
    _plane_axes(value)
    return value


def _exclude_check(name, value):
    _check_selection(name, value, "fixed")
    return value


def _com_check(name, value):
    _check_selection(name, value, "frame")
    return value


def _pixels(n_atoms: int, atoms_per_pixel: int = 20) -> tuple[int, int]:
    """The paper's 60 x 36 map, coarsened (same aspect) until a pixel holds about ``atoms_per_pixel`` atoms."""
    nu, nv = 60, 36
    scale = min(1.0, np.sqrt(n_atoms / atoms_per_pixel / (nu * nv)))
    return max(1, int(round(nu * scale))), max(1, int(round(nv * scale)))


class TemperatureMap(Analysis):
    """:func:`temperature_map` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`).

    ``per_atom=True`` adds each atom's kinetic temperature (``atom_temperature``, K) to the per-atom output.
    """

    name = "temperature"
    order = 60
    summary = "temperature map over a plane (x-z: the paper's device cross-section)"
    parameters = (
        Parameter("plane", "xz", "two of x, y, z: horizontal then vertical axis", check=_plane_check, kind="str"),
        Parameter("bins", (60, 36), "pixels along the two axes", "", _checks.integer_pair, kind="list",
                  auto=lambda first: _pixels(len(first)),
                  auto_doc="60 × 36 (the paper's), coarsened below ~43,000 atoms to ~20 atoms per pixel"),
        Parameter("sigma_nm", 1.0, "Gaussian smoothing width (0: none)", "nm",
                  lambda name, v: None if v is None else _checks.non_negative(name, v, unit="nm")),
        Parameter("average_frames", 1, "sum this many consecutive frames into each map", "", _checks.count, kind="int"),
        Parameter("exclude", "fixed", "atoms left out: 'fixed' (the frames' fixed flags, else atoms at exactly zero "
                  "velocity), none, or (Python) a mask or atom indices", check=_exclude_check, kind="str"),
        Parameter("com", "frame", "centre-of-mass velocity removed: of the 'frame' (of its counted atoms), or (Python) "
                  "a mask", check=_com_check, kind="str"),
        Parameter("min_atoms", 3.0, "pixels holding fewer atoms (per map, raw or smoothed) are NaN", "",
                  _checks.non_negative),
        Parameter("refine", None, "also return temperature_display, the smoothed map interpolated this many times finer",
                  "", _checks.count, kind="int"),
        Parameter("per_atom", False, "also return each atom's kinetic temperature", check=_checks.flag, kind="bool"),
    )
    requires = Requires(velocities=True)
    selectable = True

    def prepare(self):
        self.axes = _plane_axes(self.plane)
        self.same_atoms = self.per_atom

    def setup(self, frame):
        frac, extent, periodic = _fractions(frame, self.axes)
        # a layer of excluded (fixed) atoms across the cell is a thermal barrier: heat must not be smoothed
        # through it across the periodic boundary (the mushroom cell's fixed top layers above its heater)
        excluded = _mask(frame, self.exclude, "exclude", default_fixed=True)
        self.barrier = np.array([periodic[k] and _blocks(frac[:, k], excluded, self.bins[k]) for k in range(2)])
        self.geometry = (extent, periodic & ~self.barrier)

    def end_frame(self, state, frame) -> Part:
        nu, nv = self.bins
        ke, counted = kinetic_energies(frame, exclude=self.exclude, com=self.com)
        if self.selection is not None:
            counted = counted & self.centre_mask(frame)
        frac, _, _ = _fractions(frame, self.axes)
        row = np.minimum((frac[:, 0] * nu).astype(np.int64), nu - 1)
        row[~counted] = -1
        counts, ke_sum = binned_sums(row, frac[:, 1], nu, nv, ke, n_tasks(len(frame), self.parallel))
        atoms = None
        if self.per_atom:
            t = 2.0 * ke / (3.0 * KB_EV)
            t[~counted] = np.nan
            atoms = {"atom_temperature": (t, {"long_name": "kinetic temperature", "units": "K"})}
        return Part((counts, ke_sum), atoms)

    def result(self, parts, times) -> xr.Dataset:
        nu, nv = self.bins
        step = self.average_frames
        windows = [(parts[k : k + step], times[k : k + step]) for k in range(0, len(parts), step)]
        counts = np.array([sum(p.data[0] for p in w) for w, _ in windows], dtype=float)
        ke_sum = np.array([sum(p.data[1] for p in w) for w, _ in windows])
        times = np.array([float(np.mean(t)) if np.isfinite(t).all() else np.nan for _, t in windows])
        (lo_u, len_u, lo_v, len_v), periodic = self.geometry
        du, dv = len_u / nu, len_v / nv
        min_atoms, sigma_nm = self.min_atoms, self.sigma_nm
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = np.where(counts >= max(min_atoms, 1e-12), 2.0 * ke_sum / (3.0 * KB_EV * counts), np.nan)
            if sigma_nm:
                sigma_px = (0.0, 10.0 * sigma_nm / du, 10.0 * sigma_nm / dv)
                modes = ("constant",) + tuple("wrap" if p else "constant" for p in periodic)
                ke_s = gaussian_filter(ke_sum, sigma_px, mode=modes)
                n_s = gaussian_filter(counts, sigma_px, mode=modes)
            else:
                ke_s, n_s = ke_sum, counts
            smooth = np.where(n_s >= max(min_atoms, 1e-12), 2.0 * ke_s / (3.0 * KB_EV * n_s), np.nan)
        cu = lo_u + (np.arange(nu) + 0.5) * du
        cv = lo_v + (np.arange(nv) + 0.5) * dv
        u, v = "xyz"[self.axes[0]], "xyz"[self.axes[1]]
        dims = ("frame", u, v)
        exclude, com = self.exclude, self.com
        ds = xr.Dataset(
            {
                "temperature": (dims, smooth, {"long_name": "temperature", "units": "K"}),
                "temperature_raw": (dims, raw, {"long_name": "temperature (unsmoothed)", "units": "K"}),
                "count": (dims, counts, {"long_name": "atoms per pixel", "units": ""}),
                "kinetic_energy": (dims, ke_sum, {"long_name": "kinetic energy per pixel", "units": "eV"}),
            },
            coords={**frame_coords(times), u: (u, cu, {"long_name": u, "units": "Å"}),
                    v: (v, cv, {"long_name": v, "units": "Å"})},
            attrs=attrs_of(analysis="temperature_map", plane=self.plane, bins=[nu, nv], sigma_nm=sigma_nm or 0.0,
                           smoothing_wraps=[u for u, p in zip((u, v), periodic) if p],
                           barrier=[u for u, b in zip((u, v), self.barrier) if b],
                           average_frames=self.average_frames, min_atoms=min_atoms,
                           exclude=exclude if isinstance(exclude, str) or exclude is None else "mask",
                           com=com if isinstance(com, str) or com is None else "mask"),
        )
        empty = [k for k in range(len(smooth)) if not np.isfinite(smooth[k]).any()]
        if empty:
            warnings.warn(f"temperature_map: {len(empty)} of {len(smooth)} maps have no pixel with at least min_atoms="
                          f"{min_atoms} atoms (grid {nu} x {nv} pixels of {du:.3g} x {dv:.3g} Å, "
                          f"{counts[empty[0]].sum():.0f} atoms counted); use fewer bins, a lower min_atoms or "
                          "average_frames > 1", GstorderWarning, stacklevel=2)
        if self.refine:
            ds = ds.merge(_refined(ds, int(self.refine), u, v))
        return ds


register(TemperatureMap)


@public(TemperatureMap)
def temperature_map(frames, **options) -> xr.Dataset:
    """Temperature on a grid over a plane, averaged over the third axis, smoothed by a Gaussian.

    Frames need velocities (a :class:`~gstorder.errors.MissingDataError`
    otherwise). Pixels span one period along periodic axes (a cell vector
    must carry the axis alone: an orthogonal box, or z of a LAMMPS
    lower-triangular cell; others are refused) and the atoms' extent along
    open ones. The grid is fixed by the first frame; later frames are binned
    in fractions of their own period (NPT) or extent. Periodic axes wrap in
    the smoothing, except across a barrier: where excluded (fixed) atoms fill
    whole pixel rows (the mushroom cell's fixed top layers), the smoothing
    along that axis does not wrap, so no heat passes from the heater through
    the fixed layers across the periodic boundary (``attrs["barrier"]``
    names such axes). With ``select=`` only the selected atoms are counted.

    Returns
    -------
    xarray.Dataset
        Over (``frame``, u, v) with u, v the plane's axis letters and their
        pixel centres in Å: ``temperature`` (smoothed, K),
        ``temperature_raw`` (K), ``count`` (atoms, summed over the averaged
        frames), ``kinetic_energy`` (ΣKE, eV). ``time`` (ps) is the mean
        time of each map's frames.

    Examples
    --------
    >>> import numpy as np
    >>> from gstorder import structures, temperature_map
    >>> atoms = structures.rocksalt("GeTe", 6, a=6.0)
    >>> atoms.set_velocities(np.random.default_rng(0).normal(0, 0.03, (len(atoms), 3)))
    >>> temperature_map(atoms, bins=(6, 4)).temperature.dims
    ('frame', 'x', 'z')
    """
    return TemperatureMap.call(frames, options)



class RadialTemperature(Analysis):
    """:func:`radial_temperature` as an analysis of the one-pass runner."""

    name = "radial_temperature"
    summary = "temperature against distance from a focal point or axis (Fig. 5c)"
    parameters = (
        Parameter("centre", None, "focal point (e.g. the heater's axis point); required", "Å",
                  lambda name, v: tuple(_checks.finite_array(name, v, shape=(3,), unit="Å").tolist()), kind="list"),
        Parameter("axis", None, "measure from the line through centre along this axis (a cylindrical heater such as "
                  "the mushroom cell's); unset: from the point; periodic images by minimum image",
                  check=lambda name, v: _checks.choice(name, v, ("x", "y", "z")), kind="str"),
        Parameter("r_max", 100.0, "range", "Å", _checks.positive),
        Parameter("bin_width", 5.0, "shell width", "Å", _checks.positive),
        Parameter("exclude", "fixed", "atoms left out: 'fixed', none, or (Python) a mask or atom indices",
                  check=lambda name, v: _exclude_check(name, v), kind="str"),
        Parameter("com", "frame", "centre-of-mass velocity removed: of the 'frame' (its counted atoms) or (Python) a mask",
                  check=lambda name, v: _com_check(name, v), kind="str"),
        Parameter("min_atoms", 3.0, "shells holding fewer atoms are NaN", "", _checks.non_negative),
    )
    requires = Requires(velocities=True)

    def prepare(self):
        if self.centre is None:
            raise ArgumentTypeError("radial_temperature needs centre=, the focal point in Å, e.g. centre=[x, y, z]")
        if self.bin_width > self.r_max:
            raise InvalidArgumentError(f"bin_width must be ≤ r_max={self.r_max} (in Å), got {self.bin_width}")
        self.n_bins = int(np.ceil(self.r_max / self.bin_width))
        self.reach = self.n_bins * self.bin_width

    def end_frame(self, state, frame) -> Part:
        ke, counted = kinetic_energies(frame, exclude=self.exclude, com=self.com)
        d = _minimum_image(frame, frame.positions - np.asarray(self.centre))
        if self.axis is not None:
            d[:, "xyz".index(self.axis)] = 0.0
        r = np.linalg.norm(d, axis=1)
        row = np.where(counted & (r < self.reach), 0, -1).astype(np.int64)
        counts, ke_sum = binned_sums(row, r / self.reach, 1, self.n_bins, ke, n_tasks(len(frame), self.parallel))
        return Part((counts[0], ke_sum[0]))

    def result(self, parts, times) -> xr.Dataset:
        counts = np.array([p.data[0] for p in parts])
        ke_sum = np.array([p.data[1] for p in parts])
        with np.errstate(divide="ignore", invalid="ignore"):
            temps = np.where(counts >= self.min_atoms, 2.0 * ke_sum / (3.0 * KB_EV * counts), np.nan)
        r = (np.arange(self.n_bins) + 0.5) * self.bin_width
        return xr.Dataset(
            {"temperature": (("frame", "r"), temps, {"long_name": "temperature", "units": "K"}),
             "count": (("frame", "r"), counts, {"long_name": "atoms per shell", "units": ""})},
            coords={**frame_coords(times), "r": ("r", r, {"long_name": "distance from the focus", "units": "Å"})},
            attrs=attrs_of(analysis="radial_temperature", centre=list(self.centre), axis=self.axis,
                           bin_width=self.bin_width),
        )


@public(RadialTemperature, run_options=("index", "parallel", "workers", "show_progress"))
def radial_temperature(frames, **options) -> xr.Dataset:
    """Temperature against distance from a focal centre (spherical) or axis (cylindrical).

    Returns
    -------
    xarray.Dataset
        ``temperature`` (frame, r) in K (NaN with fewer than ``min_atoms``
        atoms) and ``count`` (frame, r), ``r`` the shell centres in Å.
    """
    return RadialTemperature.call(frames, options)


# --------------------------------------------------------------------------- helpers


def _mask(frame, spec, name, *, default_fixed=False) -> np.ndarray:
    n = len(frame)
    if spec is None:
        return np.zeros(n, dtype=bool)
    if isinstance(spec, str):
        if spec != "fixed" or not default_fixed:
            raise InvalidArgumentError(f"{name}={spec!r}; use 'fixed', None, or a boolean mask / indices of atoms")
        if "fixed" in frame.arrays:
            return np.asarray(frame.arrays["fixed"], dtype=bool).reshape(n)
        if "move_mask" in frame.arrays:
            return ~np.asarray(frame.arrays["move_mask"], dtype=bool).reshape(n)
        return _frozen(frame)
    spec = np.asarray(spec)
    if spec.size == 0:  # an empty selection: nobody
        return np.zeros(n, dtype=bool)
    if spec.dtype == bool:
        if spec.shape != (n,):
            raise InvalidArgumentError(f"{name} mask must have shape ({n},), got {spec.shape}")
        return spec
    if spec.dtype.kind not in "iu":
        raise ArgumentTypeError(f"{name} must be 'fixed', None, a boolean mask or integer atom indices, got {spec.dtype}")
    if spec.shape == (n,) and n > 2 and set(np.unique(spec).tolist()) <= {0, 1}:
        raise InvalidArgumentError(f"{name} looks like a 0/1 mask of all {n} atoms but is {spec.dtype}; pass it as "
                                   ".astype(bool) (integers are read as atom indices)")
    if spec.size and not (-n <= spec.min() and spec.max() < n):
        raise InvalidArgumentError(f"{name} holds atom indices outside 0..{n - 1}: {spec.min()}..{spec.max()}")
    out = np.zeros(n, dtype=bool)
    out[spec.astype(np.int64)] = True
    return out


def _frozen(frame) -> np.ndarray:
    """Atoms ``exclude='fixed'`` leaves out when a frame carries no ``fixed`` array: those with exactly zero velocity.

    LAMMPS runs of :func:`gstorder.md.lammps_deck` hold their fixed atoms at
    v = 0 and dump no flag for them; counted as atoms at 0 K they would cool
    every pixel they share (rows of the device map at 359 K instead of 600 K).
    """
    v = frame.velocities
    if v is None:
        return np.zeros(len(frame), dtype=bool)
    frozen = (v == 0.0).all(axis=1)
    if frozen.any() and not frozen.all():
        # the same words for every frame, so that Python shows it once, not once per frame of a long run
        warnings.warn(f"{frame.info.get('file', 'frames')}: no 'fixed' array; exclude='fixed' leaves out the "
                      f"{int(frozen.sum())} atoms with exactly zero velocity (pass read_frames(..., groups='groups.lmp') "
                      "to name the fixed atoms, or exclude=None to count them)", GstorderWarning, stacklevel=2)
        return frozen
    return np.zeros(len(frame), dtype=bool)


def _check_selection(name, spec, keyword) -> None:
    """``spec`` is ``keyword``, None, or an array of booleans or atom indices (checked against a frame later)."""
    if spec is None or isinstance(spec, str):
        _checks.choice(name, spec, (keyword, None))
        return
    kind = np.asarray(spec).dtype.kind
    if kind not in "biu" and np.asarray(spec).size:
        raise ArgumentTypeError(f"{name} must be {keyword!r}, None, a boolean mask or integer atom indices, "
                                f"got {type(spec).__name__} {spec!r}")


def _blocks(frac, excluded, n_bins) -> bool:
    """Whether excluded atoms fill some pixel row (along the other axis) that holds no counted atom."""
    if not excluded.any() or excluded.all():
        return False
    rows = np.minimum((frac * n_bins).astype(np.int64), n_bins - 1)
    only_excluded = np.bincount(rows[excluded], minlength=n_bins) > 0
    only_excluded &= np.bincount(rows[~excluded], minlength=n_bins) == 0
    return bool(only_excluded.any())


def _plane_axes(plane: str) -> tuple[int, int]:
    if not (isinstance(plane, str) and len(plane) == 2 and set(plane) <= set("xyz") and plane[0] != plane[1]):
        raise InvalidArgumentError(f"plane={plane!r}; use two different axes, e.g. 'xz' (horizontal x, vertical z)")
    return "xyz".index(plane[0]), "xyz".index(plane[1])


def _fractions(frame, axes):
    """Positions along the two plane axes as fractions of the binned ranges, and the ranges (lower, length) in Å."""
    frac = np.empty((len(frame), 2))
    geometry, periodic = [], []
    for k, a in enumerate(axes):
        coords, lower, length, is_periodic = axis_coordinates(frame, a, what="temperature_map")
        frac[:, k] = np.clip((coords - lower) / length, 0.0, 1.0 - 1e-12)
        geometry += [lower, length]
        periodic.append(is_periodic)
    return frac, tuple(geometry), np.array(periodic)


def _minimum_image(frame, d):
    """Minimum-image displacements ``d`` (n, 3) in Å: :func:`gstorder.frames.minimum_image`, the one implementation."""
    from .frames import minimum_image  # local: the module's imports belong to the rest of thermal.py

    return minimum_image(frame, d)


def _refined(ds, factor, u, v) -> xr.Dataset:
    t = ds.temperature.values
    fine = zoom(np.nan_to_num(t, nan=0.0), (1, factor, factor), order=1, mode="nearest", grid_mode=True)
    valid = zoom(np.isfinite(t).astype(float), (1, factor, factor), order=0, mode="nearest", grid_mode=True) > 0.5
    fine[~valid] = np.nan
    du, dv = float(ds[u][1] - ds[u][0]) if ds.sizes[u] > 1 else 1.0, float(ds[v][1] - ds[v][0]) if ds.sizes[v] > 1 else 1.0
    cu = float(ds[u][0]) - du / 2 + (np.arange(t.shape[1] * factor) + 0.5) * du / factor
    cv = float(ds[v][0]) - dv / 2 + (np.arange(t.shape[2] * factor) + 0.5) * dv / factor
    return xr.Dataset({"temperature_display": (("frame", f"{u}_display", f"{v}_display"), fine,
                                               {"long_name": "temperature (interpolated for display)", "units": "K"})},
                      coords={f"{u}_display": (f"{u}_display", cu, {"units": "Å"}),
                              f"{v}_display": (f"{v}_display", cv, {"units": "Å"})})


# --------------------------------------------------------------------------- figures and key numbers


def _temperature_rows(ds, tree):
    t = ds.temperature.isel(frame=-1).values
    if not np.isfinite(t).any():
        return []
    when = _number(ds.time.values[-1])
    return [("temperature", f"{_nanmean(t):.0f} K, mean of the last map" + (f" ({when:g} ps)" if np.isfinite(when) else ""))]


def _temperature_figure(ds):
    if not np.isfinite(ds.temperature.isel(frame=-1).values).any():
        return None
    fig, ax = _new_figure((5.0, 3.6))
    plot.temperature_map(ds, frame=-1, ax=ax, vmin=None)  # scale to the data: 300 K is not every run's floor
    return fig


TemperatureMap.figures = (Figure("temperature_map", _temperature_figure,
                                 "Temperature map of the last frame, Gaussian-smoothed (cf. paper Fig. 5c, f)."),)
TemperatureMap.rows = staticmethod(_temperature_rows)
