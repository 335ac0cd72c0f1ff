"""All-origin MSD and D against MDAnalysis and tidynamics and a random walk of known D; VACF and VDOS against
tidynamics and a harmonic crystal; bad input."""

import importlib

import numpy as np
import pytest
from ase import Atoms

import gstorder
from gstorder import diffusion, vibrations
from gstorder.errors import InconsistentFramesError, MissingDataError
from gstorder.frames import Frame

CELL = np.diag([9.0, 10.0, 11.0])


def _walk(n_atoms=60, n_frames=200, sigma=0.3, dt=0.05, seed=0, numbers=(32, 52)):
    """Frames of a Gaussian random walk (wrapped into the cell) and its true unwrapped positions."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, 9, (n_atoms, 3))
    path = start + np.cumsum(rng.normal(0, sigma, (n_frames, n_atoms, 3)), axis=0)
    path[0] = start
    path = path.astype(np.float32).astype(np.float64)  # exact in MDAnalysis' single-precision coordinates too
    types = np.resize(np.array(numbers), n_atoms)
    frames = [Frame(positions=p - np.floor(p @ np.linalg.inv(CELL)) @ CELL, numbers=types, cell=CELL, pbc=True, time=k * dt)
              for k, p in enumerate(path)]
    return frames, path, types


def _needs(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        pytest.skip(f"{name} is not installed: it is the reference this test compares against (pip install {name})")


def test_msd_equals_mdanalysis_einstein_msd_fft():
    mda = _needs("MDAnalysis")
    _needs("tidynamics")  # EinsteinMSD(fft=True) runs on it
    from MDAnalysis.analysis.msd import EinsteinMSD
    from MDAnalysis.coordinates.memory import MemoryReader

    frames, path, types = _walk()
    ds = diffusion(frames)
    universe = mda.Universe.empty(path.shape[1], trajectory=True)
    universe.add_TopologyAttr("types", np.where(types == 32, "Ge", "Te"))
    universe.load_new(path.astype(np.float64), format=MemoryReader)
    for species, select in (("all", "all"), ("Ge", "type Ge"), ("Te", "type Te")):
        theirs = EinsteinMSD(universe, select=select, msd_type="xyz", fft=True).run().results.timeseries
        np.testing.assert_allclose(ds.msd.sel(species=species).values, theirs, rtol=1e-10, atol=1e-10)


def test_msd_equals_tidynamics_per_atom_and_a_direct_double_loop():
    tidynamics = _needs("tidynamics")
    frames, path, types = _walk(n_atoms=7, n_frames=50)
    ds = diffusion(frames)
    per_atom = np.array([tidynamics.msd(path[:, k]) for k in range(path.shape[1])])
    np.testing.assert_allclose(ds.msd.sel(species="all").values, per_atom.mean(axis=0), rtol=1e-10, atol=1e-10)
    brute = np.array([np.mean(((path[m:] - path[: len(path) - m]) ** 2).sum(axis=2)) for m in range(len(path))])
    np.testing.assert_allclose(ds.msd.sel(species="all").values, brute, rtol=1e-10, atol=1e-12)


def test_random_walk_gives_its_diffusion_coefficient_within_two_percent():
    sigma, dt = 0.2, 0.01
    frames, _, _ = _walk(n_atoms=1000, n_frames=2000, sigma=sigma, dt=dt, seed=4)
    # a walk is linear from the first lag: fit where the MSD averages many origins (over 8 seeds: within 1.4 %)
    ds = diffusion(frames, fit_range=[0.01, 0.05])
    expected = sigma**2 / (2 * dt)  # per coordinate <Δx²> = σ² per step = 2 D dt
    for species in ("Ge", "Te", "all"):
        d, error = float(ds.D.sel(species=species)), float(ds.D_error.sel(species=species))
        assert d == pytest.approx(expected, rel=0.02)
        assert 0 < error < 0.02 * expected
    assert float(ds.intercept.sel(species="all")) == pytest.approx(0.0, abs=0.02 * expected * ds.attrs["fit_end_ps"])
    assert ds.D.attrs["units"] == "Å²/ps" and ds.lag.attrs["units"] == "ps"


def test_drift_removal_and_selection():
    frames, path, types = _walk(n_atoms=40, n_frames=60)
    drifting = [Frame(positions=f.positions + 0.5 * k * np.array([1.0, 0, 0]), numbers=f.numbers, cell=CELL, pbc=True,
                      time=f.time) for k, f in enumerate(frames)]
    still = diffusion(frames, remove_drift=True)
    moved = diffusion(drifting, remove_drift=True)
    np.testing.assert_allclose(moved.msd.values, still.msd.values, rtol=1e-9, atol=1e-9)
    ge = diffusion(frames, select="Ge")
    np.testing.assert_allclose(ge.msd.sel(species="all").values, ge.msd.sel(species="Ge").values, rtol=1e-12)
    assert np.isnan(ge.msd.sel(species="Te").values).all()


def _einstein_crystal(n_frames=600, dt=0.01, seed=0):
    """Independent harmonic oscillators: Ge at 2.0 THz, Te at 3.5 THz, random phases and directions, amplitudes of
    equal energy on average (m ν² A² alike, as in thermal equilibrium)."""
    rng = np.random.default_rng(seed)
    lattice = np.array([(x, y, z) for x in range(4) for y in range(4) for z in range(4)], dtype=float) * 3.0
    numbers = np.resize([32, 52], len(lattice))
    nu = np.where(numbers == 32, 2.0, 3.5)[:, None]
    mass = np.where(numbers == 32, 72.63, 127.6)[:, None]
    amplitude = rng.normal(0, 0.1, (len(lattice), 3)) * np.sqrt(72.63 / mass) * (2.0 / nu)
    phase = rng.uniform(0, 2 * np.pi, (len(lattice), 3))
    frames = []
    for k in range(n_frames):
        t = k * dt
        pos = lattice + amplitude * np.cos(2 * np.pi * nu * t + phase)
        vel = -2 * np.pi * nu * amplitude * np.sin(2 * np.pi * nu * t + phase)
        frames.append(Frame(positions=pos, numbers=numbers, cell=np.eye(3) * 12.0, pbc=True, velocities=vel, time=t))
    return frames


def test_vdos_of_a_harmonic_crystal_peaks_at_its_frequencies():
    ds = vibrations(_einstein_crystal())
    assert float(ds.vdos.sel(species="Ge").idxmax()) == pytest.approx(2.0, abs=0.05)
    assert float(ds.vdos.sel(species="Te").idxmax()) == pytest.approx(3.5, abs=0.05)
    area = ds.vdos.integrate("frequency")
    np.testing.assert_allclose(area.values, 1.0, atol=0.02)
    assert ds.frequency.attrs["units"] == "THz" and float(ds.frequency.max()) == pytest.approx(50.0, rel=1e-3)
    # the mass-weighted total holds both, with equal areas (equal energies, as many atoms of each)
    both = ds.vdos.sel(species="all")
    low, high = both.sel(frequency=slice(0, 2.75)).integrate("frequency"), both.sel(frequency=slice(2.75, 50)).integrate("frequency")
    assert float(low) == pytest.approx(float(high), rel=0.25)


def test_vacf_equals_tidynamics_and_a_direct_double_loop():
    tidynamics = _needs("tidynamics")
    frames = _einstein_crystal(n_frames=80)
    v = np.array([f.velocities for f in frames])
    ds = vibrations(frames, max_lag_ps=0.79)
    theirs = np.mean([tidynamics.acf(v[:, k]) for k in range(v.shape[1])], axis=0)
    np.testing.assert_allclose(ds.vacf.sel(species="all").values, theirs, rtol=1e-9, atol=1e-9)
    brute = np.array([np.mean((v[m:] * v[: len(v) - m]).sum(axis=2)) for m in range(len(v))])
    np.testing.assert_allclose(ds.vacf.sel(species="all").values, brute, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ds.vacf_normalized.isel(lag=0).values, 1.0)


def test_bad_input_is_refused_with_the_reason():
    frames, _, _ = _walk(n_atoms=5, n_frames=4)
    with pytest.raises(MissingDataError, match="too few frames for D"):
        diffusion(frames)
    frames, _, _ = _walk(n_atoms=5, n_frames=30)
    with pytest.raises(MissingDataError, match="no velocities"):
        vibrations(frames)
    untimed = [Frame(positions=f.positions, numbers=f.numbers, cell=CELL, pbc=True) for f in frames]
    with pytest.raises(MissingDataError, match="interval_ps"):
        diffusion(untimed)
    assert diffusion(untimed, interval_ps=0.05).attrs["interval_ps"] == 0.05
    uneven = frames[:10] + frames[11:]
    with pytest.raises(InconsistentFramesError, match="equally spaced"):
        diffusion(uneven)
    with pytest.raises(gstorder.errors.InvalidArgumentError, match="fit_range must start before it ends"):
        diffusion(frames, fit_range=[0.5, 0.1])
    with pytest.raises(gstorder.errors.InvalidArgumentError, match="max_lag_ps"):
        vibrations(_einstein_crystal(n_frames=20), max_lag_ps=5.0)
    with pytest.raises(MissingDataError, match="velocities"), \
            pytest.warns(gstorder.errors.GstorderWarning, match="does not look like a Ge-Sb-Te"):  # a toy gas
        gstorder.analyze(frames, ["vibrations"])


def test_in_the_one_pass():
    frames = _einstein_crystal(n_frames=40)
    atoms = [Atoms(numbers=f.numbers, positions=f.positions, cell=f.cell, pbc=True, velocities=f.velocities / 98.22694788,
                   info={"time_ps": f.time}) for f in frames]  # ASE velocities are in Å/(ASE time unit)
    tree = gstorder.analyze(atoms, ["diffusion", "vibrations"])
    np.testing.assert_allclose(tree["vibrations"].vacf.values, vibrations(frames).vacf.values, rtol=1e-6)
    np.testing.assert_allclose(tree["diffusion"].msd.values, diffusion(frames).msd.values, rtol=1e-9, atol=1e-12)


def test_analyze_all_skips_diffusion_with_too_few_frames_for_the_default_fit():
    from gstorder.dynamics import Diffusion, fit_lags

    default = next(p.default for p in Diffusion.parameters if p.name == "fit_range")
    n = Diffusion.requires.min_frames
    assert len(fit_lags(n, default)) >= 3 > len(fit_lags(n - 1, default))
    frames, _, _ = _walk(n_atoms=5, n_frames=n - 1)
    assert "at least 16 frames" in gstorder.ANALYSES["diffusion"].requires.why_not(frames[0], n - 1)  # what 'all' asks
    assert gstorder.ANALYSES["diffusion"].requires.why_not(frames[0], n) is None


@pytest.mark.filterwarnings("ignore::gstorder.errors.GstorderWarning")  # a small cell: rdf warns of its images
def test_analyze_all_skips_time_series_of_frames_without_times_and_runs_them_with_an_interval():
    """'all' on in-memory frames with velocities but no times: the VDOS and D are skipped with the reason, not an error."""
    frames = _einstein_crystal(n_frames=20)
    timeless = [Atoms(numbers=f.numbers, positions=f.positions, cell=f.cell, pbc=True,
                      velocities=f.velocities / 98.22694788) for f in frames]
    tree = gstorder.analyze(timeless, "all", show_progress=False)
    import ast

    skipped = ast.literal_eval(tree.attrs["skipped"])  # netCDF-safe: the dict's repr
    assert "no times" in skipped["vibrations"] and "no times" in skipped["diffusion"]
    assert "vibrations" not in tree and "rdf" in tree and "msd" in tree
    # with the interval given, 'all' runs them, equal to the frames with times
    dt = frames[1].time - frames[0].time
    tree = gstorder.analyze(timeless, {"vibrations": {"interval_ps": dt}}, show_progress=False)
    np.testing.assert_allclose(tree["vibrations"].vacf.values, vibrations(frames).vacf.values, rtol=1e-6)
    assert gstorder.ANALYSES["vibrations"].requires.why_not(gstorder.as_frame(timeless[0]), 20, {"interval_ps": dt}) is None
