"""Temperature maps: flat fields, hot regions, energy bookkeeping, smoothing, fixed atoms."""

import numpy as np
import pytest
import xarray as xr
from ase import Atoms
from scipy.ndimage import gaussian_filter

import artists
import gstorder
from gstorder import structures, temperature_map
from gstorder.errors import GstorderWarning, MissingDataError
from gstorder.frames import ASE_VELOCITY_TO_A_PER_PS
from gstorder.thermal import EV_PER_AMU_A2_PS2, KB_EV, atom_temperatures, kinetic_energies, radial_temperature


def _maxwell(atoms, temperature, seed=0, mask=None):
    """Velocities (Å/ps) of a Maxwell-Boltzmann distribution, set on an ase.Atoms copy as a gstorder Frame."""
    rng = np.random.default_rng(seed)
    frame = gstorder.as_frame(atoms).copy()
    m = frame.atom_masses
    scale = np.sqrt(KB_EV * temperature / (m * EV_PER_AMU_A2_PS2))
    v = rng.normal(size=(len(frame), 3)) * scale[:, None]
    if frame.velocities is not None and mask is not None:
        v = np.where(mask[:, None], v, frame.velocities)
    frame.velocities = v
    return frame


@pytest.fixture(scope="module")
def slab():
    return structures.mushroom_cell(seed=0)  # 22,400 atoms, 19.2 x 12 nm² cross-section


def test_uniform_maxwell_boltzmann_field_is_flat(slab):
    frame = _maxwell(slab, 600.0)
    ds = temperature_map(frame, exclude=None)
    assert ds.temperature.shape == (1, 60, 36)
    t = ds.temperature.values
    assert abs(np.nanmean(t) - 600) < 10
    assert np.nanmax(np.abs(t - 600)) < 60  # ~370 atoms per 1 nm smoothing area: a few % noise
    assert np.isfinite(t).all()


def test_hot_half_cylinder_shows_where_it_was_placed(slab):
    frame = _maxwell(slab, 300.0, seed=1)
    heater = slab.arrays["heater"]
    frame = _maxwell(frame, 2000.0, seed=2, mask=heater)
    ds = temperature_map(frame, sigma_nm=0.5)
    t = ds.temperature.isel(frame=0)
    hot = t.sel(x=slice(96 - 10, 96 + 10), z=slice(0, 10))
    cold = t.sel(x=slice(0, 40), z=slice(60, 100))
    assert float(hot.mean()) > 1200 and abs(float(cold.mean()) - 300) < 40
    hottest = t.where(t == t.max(), drop=True)
    assert abs(float(hottest.x[0]) - 96) < 25 and float(hottest.z[0]) < 20


def test_energy_bookkeeping_and_reference_binning(slab):
    frame = _maxwell(slab, 800.0, seed=3)
    frame.velocities += [3.0, 0.0, -1.0]  # a drift, removed with the centre of mass
    ds = temperature_map(frame, exclude=None, sigma_nm=1.0)
    m = frame.atom_masses
    v = frame.velocities - (m[:, None] * frame.velocities).sum(0) / m.sum()
    total = 0.5 * (m * (v**2).sum(1)).sum() * EV_PER_AMU_A2_PS2
    assert float(ds.kinetic_energy.sum()) == pytest.approx(total, rel=1e-12)
    assert int(ds["count"].sum()) == len(frame)
    # independent reference: NumPy 2-D histogram plus scipy.ndimage, wrapping along periodic x
    ke = 0.5 * m * (v**2).sum(1) * EV_PER_AMU_A2_PS2
    lx, lz = frame.cell[0, 0], frame.cell[2, 2]
    x = frame.positions[:, 0] % lx
    z = frame.positions[:, 2] % lz
    h_ke = np.histogram2d(x, z, bins=(60, 36), range=((0, lx), (0, lz)), weights=ke)[0]
    h_n = np.histogram2d(x, z, bins=(60, 36), range=((0, lx), (0, lz)))[0]
    np.testing.assert_allclose(ds.kinetic_energy[0], h_ke, rtol=1e-10, atol=1e-12)
    sig = (10.0 / (lx / 60), 10.0 / (lz / 36))
    t_ref = 2 * gaussian_filter(h_ke, sig, mode="wrap") / (3 * KB_EV * gaussian_filter(h_n, sig, mode="wrap"))
    np.testing.assert_allclose(ds.temperature[0], t_ref, rtol=1e-10)


def test_smoothing_wraps_only_along_periodic_axes():
    atoms = structures.rocksalt("GeTe", (10, 2, 10), a=6.0)
    frame = _maxwell(atoms, 300.0, seed=4)
    frame.velocities[frame.positions[:, 0] < 3.0] *= 3.0  # a hot stripe at the x = 0 boundary
    periodic = temperature_map(frame, bins=(20, 10), sigma_nm=0.6, exclude=None)
    assert float(periodic.temperature[0, -1].mean()) > float(periodic.temperature[0, 10].mean()) + 100  # heat wraps to x = L
    slab = frame.copy()
    slab.pbc = np.array([False, True, True])
    open_x = temperature_map(slab, bins=(20, 10), sigma_nm=0.6, exclude=None)
    assert float(open_x.temperature[0, -1].mean()) < float(periodic.temperature[0, -1].mean()) - 100


def test_fixed_atoms_are_excluded(slab):
    frame = _maxwell(slab, 500.0, seed=5)
    fixed = slab.arrays["fixed"]
    frame.velocities[fixed] *= 10.0  # frozen atoms whose velocities are junk must not count
    ds = temperature_map(frame)  # exclude="fixed" by default
    assert int(ds["count"].sum()) == (~fixed).sum()
    top = ds.temperature.isel(frame=0).sel(z=slice(110, 120))
    assert np.isnan(top.values).all() or float(top.mean()) < 800
    ke, counted = kinetic_energies(frame)
    assert not counted[fixed].any() and (ke[fixed] == 0).all()
    t = atom_temperatures(frame)
    assert np.isnan(t.values[0, fixed]).all()
    assert float(np.nanmean(t.values)) == pytest.approx(500, rel=0.05)


def test_frames_averaged_in_windows_and_refined_display(slab):
    frames = [_maxwell(slab, 400.0 + 100 * k, seed=k) for k in range(5)]
    for k, f in enumerate(frames):
        f.time = 0.1 * k
    ds = temperature_map(frames, average_frames=2, refine=3, bins=(30, 18))
    assert ds.sizes["frame"] == 3
    np.testing.assert_allclose(ds.time, [0.05, 0.25, 0.4])
    single = [temperature_map(f, bins=(30, 18)) for f in frames[:2]]
    np.testing.assert_allclose(ds.kinetic_energy[0], single[0].kinetic_energy[0] + single[1].kinetic_energy[0])
    assert ds.temperature_display.shape == (3, 90, 54)
    assert abs(float(ds.temperature_display[0].mean()) - 450) < 15


def test_radial_profile_around_the_heater(slab):
    frame = _maxwell(slab, 300.0, seed=6)
    frame = _maxwell(frame, 1500.0, seed=7, mask=slab.arrays["heater"])
    prof = radial_temperature(frame, centre=[96.0, 0.0, 0.0], axis="y", r_max=60.0, bin_width=5.0)
    t = prof.temperature.isel(frame=0)
    assert float(t.sel(r=slice(0, 15)).mean()) > 1200  # inside the 20 Å half-cylinder
    assert abs(float(t.sel(r=slice(30, 60)).mean()) - 300) < 40


def test_serial_equals_parallel(slab):
    frame = _maxwell(slab, 700.0, seed=8)
    a = temperature_map(frame, parallel=False)
    b = temperature_map(frame, parallel=True)
    xr.testing.assert_allclose(a, b, rtol=1e-12)


def test_bad_input():
    atoms = structures.rocksalt("GeTe", 2)
    with pytest.raises(MissingDataError, match="has no velocities"):
        temperature_map(atoms)
    frame = _maxwell(atoms, 300)
    with pytest.raises(ValueError, match="plane='xx'"):
        temperature_map(frame, plane="xx")
    with pytest.raises(ValueError, match=r"bins\[0\] must be a positive integer|bins must be two positive integers"):
        temperature_map(frame, bins=(0, 3))
    with pytest.raises(ValueError, match="average_frames"):
        temperature_map(frame, average_frames=0)
    with pytest.raises(ValueError, match="com='box'"):
        temperature_map(frame, com="box")
    with pytest.raises(ValueError, match="exclude mask must have shape"):
        temperature_map(frame, exclude=np.ones(3, bool))
    with pytest.raises(ValueError, match="centre must have shape 3"):
        radial_temperature(frame, centre=[0, 0])


def test_plots_and_movie(tmp_path, slab):
    import matplotlib.pyplot as plt

    from PIL import Image, ImageSequence

    frames = [_maxwell(slab, 300.0 + 200 * k, seed=k) for k in range(3)]
    ds = temperature_map(frames, refine=2)
    ax = gstorder.plot.temperature_map(ds, frame=-1)
    np.testing.assert_array_equal(artists.mesh(ax), ds.temperature_display[-1].values.T)  # rows along z
    ax = gstorder.plot.temperature_map(ds, frame=0, raw=True)
    np.testing.assert_array_equal(artists.mesh(ax), ds.temperature_raw[0].values.T)
    path = gstorder.plot.temperature_movie(ds, tmp_path / "heat.gif", fps=2)
    assert str(path).endswith("heat.gif")
    with Image.open(tmp_path / "heat.gif") as gif:
        brightness = [np.asarray(f.convert("L"), dtype=float).mean() for f in ImageSequence.Iterator(gif)]
    assert len(brightness) == 3 and np.all(np.diff(brightness) > 0)  # one frame per map, hotter maps brighter
    assert not list(tmp_path.glob(".gstorder-*"))
    with pytest.raises(ValueError, match="must end in .gif or .mp4"):
        gstorder.plot.temperature_movie(ds, tmp_path / "heat.avi")
    plt.close("all")


def test_tilted_cells_bin_cartesian_axes_or_refuse():
    atoms = structures.rocksalt("GeTe", (2, 3, 4), a=6.0)
    cell = atoms.cell.array.copy()
    cell[2, 0] = 4.0  # c tilted along x: z and y keep a single period, x does not
    atoms.set_cell(cell, scale_atoms=False)
    frame = _maxwell(atoms, 300.0, seed=9)
    frame.velocities[frame.positions[:, 2] % 24.0 < 6.0] *= 2.0
    ds = temperature_map(frame, plane="yz", bins=(3, 4), sigma_nm=None, exclude=None)
    z = frame.positions[:, 2] % 24.0
    y = frame.positions[:, 1] % 18.0
    m = frame.atom_masses
    v = frame.velocities - (m[:, None] * frame.velocities).sum(0) / m.sum()
    ke = 0.5 * m * (v**2).sum(1) * EV_PER_AMU_A2_PS2
    h = np.histogram2d(y, z, bins=(3, 4), range=((0, 18), (0, 24)), weights=ke)[0]
    np.testing.assert_allclose(ds.kinetic_energy[0], h, rtol=1e-10)
    np.testing.assert_allclose(ds.z, [3, 9, 15, 21])
    with pytest.raises(ValueError, match="no single period"):
        temperature_map(frame, plane="xz")


def test_slab_with_a_zero_cell_vector_and_integer_masks():
    atoms = structures.rocksalt("GeTe", (3, 3, 2), a=6.0)
    cell = atoms.cell.array.copy()
    cell[2] = 0.0
    atoms.set_cell(cell)
    atoms.pbc = [True, True, False]
    frame = _maxwell(atoms, 300.0, seed=10)
    ds = temperature_map(frame, bins=(3, 2), sigma_nm=0.5)
    assert np.isfinite(ds.temperature).all()
    np.testing.assert_allclose(ds.z, frame.positions[:, 2].min() + np.array([0.25, 0.75]) * np.ptp(frame.positions[:, 2]), rtol=1e-6)
    prof = radial_temperature(frame, centre=[9, 9, 3], r_max=12.0, bin_width=4.0)
    assert prof.sizes["r"] == 3
    with pytest.raises(ValueError, match=r"pass it as .astype\(bool\)"):
        temperature_map(frame, exclude=(frame.positions[:, 2] > 5).astype(int))


def test_one_hot_spot_at_the_heater_and_none_across_the_fixed_layers(slab):
    """Fig. 5: thermal motion must not carry the heater's base across z = 0, nor smoothing carry heat into the top."""
    frame = _maxwell(slab, 300.0, seed=8)
    frame = _maxwell(frame, 2000.0, seed=9, mask=slab.arrays["heater"])
    frame.velocities[slab.arrays["fixed"]] = 0.0  # as the LAMMPS deck leaves them
    frame.positions[:] += np.random.default_rng(10).normal(0, 0.3, frame.positions.shape)  # thermal displacements
    frame.positions[:, 2] %= frame.cell[2, 2]  # wrapped, as dumps are
    assert frame.positions[slab.arrays["heater"], 2].max() < frame.cell[2, 2] / 2  # no heater atom wraps to the top
    ds = temperature_map(frame)
    assert ds.attrs["barrier"] == "['z']" and ds.attrs["smoothing_wraps"] == "['x']"
    t = ds.temperature.isel(frame=0)
    below_fixed = t.isel(z=slice(-8, None)).values
    below_fixed = below_fixed[np.isfinite(below_fixed)]
    assert len(below_fixed) and abs(below_fixed.mean() - 300) < 30 and below_fixed.max() < 400  # no second hot spot
    hottest = t.where(t == t.max(), drop=True)
    assert abs(float(hottest.x[0]) - 96) < 25 and float(hottest.z[0]) < 20  # the one hot spot, at the heater
    assert np.isnan(t.isel(z=-1)).all()  # the fixed layers carry no temperature


def _hot_with_frozen_rows(rng):
    """A rock-salt slab whose top third is frozen (v = 0, no 'fixed' array), as a LAMMPS dump of lammps_deck gives it."""
    atoms = structures.rocksalt("GeTe", (4, 4, 6), a=6.0)
    v = rng.normal(0, 0.05, (len(atoms), 3))
    frozen = atoms.positions[:, 2] > 24.0
    v[frozen] = 0.0
    atoms.set_velocities(v / ASE_VELOCITY_TO_A_PER_PS)
    frame = gstorder.as_frame(atoms)
    return frame, frozen


def test_exclude_fixed_without_a_fixed_array_leaves_out_atoms_at_rest(rng):
    frame, frozen = _hot_with_frozen_rows(rng)
    with pytest.warns(GstorderWarning, match=f"leaves out the {frozen.sum()} atoms with exactly zero velocity"):
        guessed = gstorder.temperature_map(frame, bins=(4, 6), sigma_nm=None)
    named = gstorder.temperature_map(frame, bins=(4, 6), sigma_nm=None, exclude=frozen)
    np.testing.assert_array_equal(guessed.temperature.values, named.temperature.values)
    counted = gstorder.temperature_map(frame, bins=(4, 6), sigma_nm=None, exclude=None)
    assert np.nanmean(counted.temperature.values) < 0.8 * np.nanmean(named.temperature.values)  # the bias it avoids


def test_a_nan_velocity_is_left_out_with_a_warning_naming_the_atom(rng):
    frame, _ = _hot_with_frozen_rows(rng)
    frame.velocities[7] = [np.nan, 0.0, 0.0]
    with pytest.warns(GstorderWarning, match=r"1 atoms have non-finite velocities \(first: atom 7"):
        ds = gstorder.temperature_map(frame, bins=(4, 6), exclude=None)
    assert np.isfinite(ds.temperature.values).all()


def test_a_grid_without_any_filled_pixel_warns(rng):
    frame, _ = _hot_with_frozen_rows(rng)
    with pytest.warns(GstorderWarning, match="no pixel with at least min_atoms=1000"):
        ds = gstorder.temperature_map(frame, bins=(4, 6), exclude=None, min_atoms=1000)
    assert np.isnan(ds.temperature.values).all()


def test_the_frozen_atoms_warning_comes_once_for_a_whole_trajectory(rng):
    import warnings

    frame, frozen = _hot_with_frozen_rows(rng)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        gstorder.temperature_map([frame] * 6, bins=(4, 6))
    assert len([w for w in caught if "exactly zero velocity" in str(w.message)]) == 1


def test_an_empty_exclude_list_excludes_nobody(rng):
    frame, _ = _hot_with_frozen_rows(rng)
    np.testing.assert_array_equal(temperature_map(frame, bins=(4, 6), exclude=[])["count"].values,
                                  temperature_map(frame, bins=(4, 6), exclude=None)["count"].values)


# ----------------------------------------------------------------------------- values against sums by hand


def _by_hand(frame, counted, v_cm, where, edges):
    """ΣKE (eV), atoms and T = 2 ΣKE / (3 k_B N) (K) per bin of ``where`` (one or two coordinates), from ½ m |v - v_cm|²."""
    m, v = frame.atom_masses, frame.velocities
    ke = 0.5 * m * ((v - v_cm) ** 2).sum(1) * EV_PER_AMU_A2_PS2
    where = [w[counted] for w in where]
    ke_sum = np.histogramdd(np.transpose(where), bins=edges, weights=ke[counted])[0]
    n = np.histogramdd(np.transpose(where), bins=edges)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return ke_sum, n, 2 * ke_sum / (3 * KB_EV * n)


def _drifting_mobile_region(seed):
    """A 6 x 2 x 4 rock-salt cell whose top quarter is fixed (at rest) and whose mobile atoms drift at 4 Å/ps along x."""
    atoms = structures.rocksalt("GeTe", (6, 2, 4), a=6.0)
    fixed = atoms.positions[:, 2] >= 18.0
    atoms.new_array("fixed", fixed)
    frame = _maxwell(atoms, 500.0, seed=seed)
    frame.velocities[~fixed] += [4.0, 0.0, 0.0]
    frame.velocities[fixed] = 0.0
    return frame, fixed


def test_the_map_removes_the_drift_of_the_counted_atoms_only():
    """Fixed atoms at rest are neither counted nor part of the centre of mass whose velocity is removed: a mobile region
    drifting at 4 Å/ps reads at its thermal temperature, not hotter by the drift the fixed atoms would leave in."""
    frame, fixed = _drifting_mobile_region(11)
    m, v = frame.atom_masses, frame.velocities
    v_cm = (m[~fixed, None] * v[~fixed]).sum(0) / m[~fixed].sum()
    assert v_cm[0] == pytest.approx(4.0, abs=0.2)
    ds = temperature_map(frame, bins=(6, 4), sigma_nm=None, min_atoms=1)
    edges = (np.linspace(0, 36, 7), np.linspace(0, 24, 5))
    ke_sum, n, t = _by_hand(frame, ~fixed, v_cm, [frame.positions[:, 0] % 36, frame.positions[:, 2] % 24], edges)
    np.testing.assert_allclose(ds.kinetic_energy[0], ke_sum, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(ds["count"][0], n)
    np.testing.assert_allclose(ds.temperature_raw[0, :, :3], t[:, :3], rtol=1e-12)
    assert np.isnan(ds.temperature_raw[0, :, 3]).all()  # the fixed top row holds no counted atom
    counted_t = 2 * ke_sum.sum() / (3 * KB_EV * n.sum())
    assert counted_t == pytest.approx(500, rel=0.1)  # the thermal motion alone
    t_atoms = atom_temperatures(frame).values[0]
    assert np.nanmean(t_atoms) == pytest.approx(counted_t, rel=1e-12) and np.isnan(t_atoms[fixed]).all()


def test_raw_and_smoothed_maps_equal_half_m_v_squared_by_hand():
    """``temperature_raw`` is 2 ΣKE / (3 k_B N) per pixel (three degrees of freedom per atom), NaN below min_atoms;
    ``temperature`` the ratio of the Gaussian-smoothed sums."""
    atoms = structures.rocksalt("Ge1Sb2Te4", (4, 2, 3), seed=1)
    atoms.rattle(0.2, seed=12)  # off the pixel edges
    frame = _maxwell(atoms, 700.0, seed=12)
    frame.velocities[frame.positions[:, 0] % 24 < 9.6] *= 1.5  # a hot stripe, the first two pixel columns
    ds = temperature_map(frame, bins=(5, 4), sigma_nm=0.4, exclude=None, min_atoms=7)
    m, v = frame.atom_masses, frame.velocities
    v_cm = (m[:, None] * v).sum(0) / m.sum()
    edges = (np.linspace(0, 24, 6), np.linspace(0, 18, 5))
    ke_sum, n, t = _by_hand(frame, np.ones(len(frame), bool), v_cm,
                            [frame.positions[:, 0] % 24, frame.positions[:, 2] % 18], edges)
    assert (n < 7).any() and (n >= 7).any()
    np.testing.assert_allclose(ds.temperature_raw[0], np.where(n >= 7, t, np.nan), rtol=1e-12)
    sig = (4.0 / 4.8, 4.0 / 4.5)  # 0.4 nm in pixels
    smooth = 2 * gaussian_filter(ke_sum, sig, mode="wrap") / (3 * KB_EV * gaussian_filter(n, sig, mode="wrap"))
    np.testing.assert_allclose(ds.temperature[0], smooth, rtol=1e-12)
    assert np.nanmean(t[:2]) > 1.5 * np.nanmean(t[2:])


def test_radial_profile_around_an_axis_equals_distances_by_hand():
    """Cylindrical distances (the axis component left out, minimum image) bin each atom's ½ m |v - v_cm|²; the
    hotter atoms near the axis make the profile fall with r, and a spherical distance would bin them elsewhere."""
    atoms = structures.rocksalt("GeTe", (5, 4, 5), a=6.0)
    atoms.rattle(0.2, seed=13)
    centre = np.array([1.0, 7.0, 2.0])  # near the corner: the minimum image matters along x and z
    d = atoms.positions - centre
    d -= np.round(d / [30.0, 24.0, 30.0]) * [30.0, 24.0, 30.0]
    r_cyl = np.hypot(d[:, 0], d[:, 2])
    frame = _maxwell(atoms, 300.0, seed=14)
    frame.velocities *= (1.0 + 2.0 * np.exp(-r_cyl / 5.0))[:, None]
    prof = radial_temperature(frame, centre=centre, axis="y", r_max=14.0, bin_width=2.0, exclude=None, min_atoms=1)
    m, v = frame.atom_masses, frame.velocities
    v_cm = (m[:, None] * v).sum(0) / m.sum()
    _, n, t = _by_hand(frame, np.ones(len(frame), bool), v_cm, [r_cyl], (np.arange(0, 15, 2.0),))
    np.testing.assert_array_equal(prof["count"][0], n)
    np.testing.assert_allclose(prof.temperature[0], t, rtol=1e-12)
    assert float(prof.temperature[0, 0]) > 1.5 * float(prof.temperature[0, -1])
    point = radial_temperature(frame, centre=centre, r_max=14.0, bin_width=2.0, exclude=None, min_atoms=1)
    _, n_sph, _ = _by_hand(frame, np.ones(len(frame), bool), v_cm, [np.linalg.norm(d, axis=1)], (np.arange(0, 15, 2.0),))
    np.testing.assert_array_equal(point["count"][0], n_sph)  # axis=None: spherical, as by hand too
