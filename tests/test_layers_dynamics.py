"""Layer detection and tracking, z profiles, MSD with unwrapping, density."""

import numpy as np
import pytest
from ase import Atoms

import artists
import gstorder
from gstorder import density, layers, msd, structures
from gstorder.errors import MissingDataError


@pytest.fixture(scope="module")
def device():
    return structures.device_cell()


def test_device_cell_has_seven_layers_per_septuple_block(device):
    found = layers.find_layers(device, "z")
    assert found.sizes["layer"] == 210  # 10 hexagonal cells of 3 septuple blocks each
    seq = "".join({"Te": "T", "Sb": "S", "Ge": "G"}[s] for s in found.species.values)
    assert seq == "TSTGTST" * 30
    assert (found.purity == 1.0).all() and (found["count"] == 47 * 27 * 2).all()  # one atom per 2-D cell
    assert float(found.width.max()) < 1e-6
    expected = np.unique(np.round(device.positions[:, 2] % device.cell[2, 2], 2))
    np.testing.assert_allclose(found.position, expected, atol=0.06)


def _randomise_block(atoms, block, seed=0):
    out = atoms.copy()
    rng = np.random.default_rng(seed)
    sel = out.arrays["block"] == block
    z = out.positions[sel, 2]
    pos = out.positions.copy()
    pos[sel, 0] = rng.uniform(0, out.cell[0, 0], sel.sum())
    pos[sel, 1] = rng.uniform(0, out.cell[1, 1], sel.sum())
    pos[sel, 2] = rng.uniform(z.min(), z.max(), sel.sum())
    out.positions = pos
    return out


def test_randomised_block_loses_exactly_its_layers():
    atoms = structures.trigonal("Ge1Sb2Te4", (6, 4, 2), orthogonal=True)  # 6 septuple blocks
    melted = _randomise_block(atoms, 2)
    for k, a in enumerate((atoms, melted)):
        a.info["time_ps"] = 10.0 * k
    tracked = layers.track_layers([atoms, melted], "z")
    assert tracked.sizes["layer"] == 42
    retained = tracked.retained.isel(frame=1).values
    block_of_layer = np.repeat(np.arange(6), 7)
    assert (retained[block_of_layer == 2] < 0.5).all()
    np.testing.assert_array_equal(retained[block_of_layer != 2], 1.0)
    np.testing.assert_array_equal(tracked.retained.isel(frame=0), 1.0)
    top_of_block = float(tracked.position[block_of_layer == 2].max())
    assert np.isnan(tracked.melting_front[0]) and float(tracked.melting_front[1]) == pytest.approx(top_of_block)
    assert float(tracked.spread.isel(frame=1)[block_of_layer == 2].min()) > 1.0


def test_track_layers_with_kbar_and_boundary_crossing():
    atoms = structures.trigonal("Ge1Sb2Te4", (3, 2, 1), orthogonal=True)
    shifted = atoms.copy()
    shifted.positions[:, 2] += 0.3 * atoms.cell[2, 2]  # the whole crystal slides; periodic wrap splits it
    shifted.wrap()
    from types import SimpleNamespace

    import xarray as xr

    kb = SimpleNamespace(kbar=xr.DataArray(np.vstack([np.ones(len(atoms)), np.full(len(atoms), 0.5)]), dims=("frame", "atom")))
    tracked = layers.track_layers([atoms, shifted], kbar=kb)
    np.testing.assert_allclose(tracked.retained.isel(frame=1), 0.0)  # moved by 0.3 c: nobody stays home
    np.testing.assert_allclose(tracked.mean_position.isel(frame=1) - tracked.position, 0.3 * atoms.cell[2, 2], atol=1e-9)
    np.testing.assert_allclose(tracked.kbar.isel(frame=1), 0.5)
    with pytest.raises(ValueError, match="compute both over the same frames"):
        layers.track_layers([atoms, shifted, shifted], kbar=kb)
    with pytest.raises(ValueError, match="compute both over the same frames"):
        layers.track_layers([atoms], kbar=kb)


def test_z_profile_counts_and_density(device):
    frames = [structures.trigonal("Ge1Sb2Te4", (2, 2, 1), orthogonal=True)] * 2
    prof = layers.z_profile(frames, bin_width=0.5)
    assert prof["count"].sum(("species", "z")).values.tolist() == [168, 168]
    assert prof["count"].sel(species="Ge").sum().item() == 2 * 24
    cell = frames[0].cell
    np.testing.assert_allclose(prof.density.sum("species").mean("z"), 168 / abs(np.linalg.det(cell)), rtol=1e-12)
    big = layers.z_profile(device, bin_width=0.1)
    assert big["count"].sum().item() == len(device)


def test_z_coordinates_unwrapped_and_plot():
    import matplotlib.pyplot as plt

    atoms = structures.trigonal("Ge1Sb2Te4", (2, 1, 1), orthogonal=True)
    frames = []
    for k in range(4):
        a = atoms.copy()
        a.positions[:, 2] += 7.0 * k
        a.wrap()
        a.info["time_ps"] = 0.5 * k
        frames.append(a)
    z = layers.z_coordinates(frames)
    np.testing.assert_allclose(z[3] - z[0], 21.0, atol=1e-9)
    axes = gstorder.plot.z_evolution(z, stride=2)  # one panel per species, each with only its own atoms
    species = [s for s in ("Ge", "Sb", "Te") if s in set(z.symbol.values)]
    assert [a.get_title() for a in axes] == species
    for a, s in zip(axes, species):
        n = len(np.flatnonzero(z.symbol.values == s)[::2])
        assert len(a.collections) == 1 and len(a.collections[0].get_offsets()) == n * z.sizes["frame"]
        np.testing.assert_allclose(np.sort(a.collections[0].get_offsets()[:, 1]),
                                   np.sort(z.values[:, np.flatnonzero(z.symbol.values == s)[::2]].ravel()))
    one = gstorder.plot.z_evolution(z, panels=False)
    assert len(one.collections) == len(species)
    plt.close("all")


def test_uniform_drift_msd_is_vt_squared_across_many_box_crossings():
    rng = np.random.default_rng(1)
    base = Atoms(numbers=rng.choice([32, 52], 50), positions=rng.uniform(0, 10, (50, 3)), cell=[10, 11, 12], pbc=True)
    v = np.array([2.3, -1.7, 0.9])  # Å per frame; crosses the box many times over 40 frames
    frames = []
    for k in range(40):
        a = base.copy()
        a.positions += v * k
        a.wrap()
        a.info["time_ps"] = 0.1 * k
        frames.append(a)
    ds = msd(frames)
    np.testing.assert_allclose(ds.msd, (np.arange(40) * np.linalg.norm(v)) ** 2, rtol=1e-10)
    np.testing.assert_allclose(ds.msd_species.sel(species="Te"), ds.msd, rtol=1e-10)
    np.testing.assert_allclose(msd(frames, remove_drift=True).msd, 0.0, atol=1e-18)
    np.testing.assert_allclose(ds.time, 0.1 * np.arange(40))


def test_drift_removal_keeps_the_motion_of_a_momentum_conserving_pair():
    """A Ge–Te pair moving apart with zero total momentum (Ge v_Ge, Te -v_Ge m_Ge / m_Te) plus a common drift: removing
    the mass-weighted centre-of-mass displacement leaves each atom's own motion exactly; an unweighted mean would not."""
    m_ge, m_te = Atoms("Ge").get_masses()[0], Atoms("Te").get_masses()[0]
    v_ge = np.array([0.3, 0.0, 0.1])
    v_te = -v_ge * m_ge / m_te
    drift = np.array([0.5, -0.2, 0.0])
    frames = []
    for k in range(6):
        a = Atoms("GeTe", positions=[[2, 2, 2], [6, 2, 2]], cell=[20, 20, 20], pbc=True)
        a.positions += np.array([v_ge, v_te]) * k + drift * k
        frames.append(a)
    t = np.arange(6)
    own = {"Ge": (v_ge @ v_ge) * t**2, "Te": (v_te @ v_te) * t**2}
    ds = msd(frames, remove_drift=True)
    np.testing.assert_allclose(ds.msd_species.sel(species="Ge"), own["Ge"], rtol=1e-12, atol=1e-24)
    np.testing.assert_allclose(ds.msd_species.sel(species="Te"), own["Te"], rtol=1e-12, atol=1e-24)
    np.testing.assert_allclose(ds.msd, (own["Ge"] + own["Te"]) / 2, rtol=1e-12, atol=1e-24)
    with_drift = msd(frames).msd_species.sel(species="Ge")
    np.testing.assert_allclose(with_drift, ((v_ge + drift) @ (v_ge + drift)) * t**2, rtol=1e-12)


def test_random_walk_and_triclinic_unwrapping_and_image_flags():
    rng = np.random.default_rng(2)
    cell = np.array([[9.0, 0, 0], [2.0, 8.0, 0], [-1.0, 1.5, 10.0]])
    true = rng.uniform(0, 8, (30, 3))
    frames, truth = [], []
    for k in range(60):
        true = true + rng.normal(0, 0.8, true.shape)
        a = Atoms(numbers=np.full(30, 51), positions=true, cell=cell, pbc=True)
        a.wrap()
        frames.append(a)
        truth.append(true.copy())
    ds = msd(frames)
    expect = [((t - truth[0]) ** 2).sum(1).mean() for t in truth]
    np.testing.assert_allclose(ds.msd, expect, rtol=1e-9, atol=1e-9)
    # LAMMPS image flags take precedence: a jump larger than half the box is still right
    flagged = []
    for k, t in enumerate([truth[0], truth[0] + [7.0, 0, 0]]):
        f = gstorder.as_frame(Atoms(numbers=np.full(30, 51), positions=t, cell=cell, pbc=True))
        frac = f.positions @ np.linalg.inv(cell)
        image = np.floor(frac).astype(int)
        f.positions = (frac - image) @ cell
        f.arrays["image"] = image
        flagged.append(f)
    np.testing.assert_allclose(msd(flagged).msd[1], 49.0, rtol=1e-12)


def test_a_growing_box_moves_the_unwrapped_atoms_with_it_as_image_flags_do():
    """Unwrapped = position + whole cell vectors of the frame's own cell, found from the jumps when there are no image
    flags: an NPT-like box growing by 1 % a frame with atoms crossing it gives the same MSD and z as LAMMPS' flags."""
    rng = np.random.default_rng(4)
    cell0 = np.array([[9.0, 0, 0], [1.0, 8.0, 0], [0.5, -1.0, 10.0]])
    frac = rng.uniform(0, 1, (20, 3))  # in the box at the start: the first frame's images are 0 without flags
    plain, flagged, truth = [], [], []
    for k in range(8):
        frac = frac + (k > 0) * rng.normal(0, 0.08, frac.shape)  # crosses the box now and then
        cell = cell0 * (1 + 0.01 * k)
        truth.append(frac @ cell)
        image = np.floor(frac)
        plain.append(Atoms(numbers=np.full(20, 32), positions=(frac - image) @ cell, cell=cell, pbc=True))
        f = gstorder.as_frame(plain[-1])
        f.arrays["image"] = image.astype(int)
        flagged.append(f)
    expect = [((t - truth[0]) ** 2).sum(1).mean() for t in truth]
    np.testing.assert_allclose(msd(flagged).msd, expect, rtol=1e-10)
    np.testing.assert_allclose(msd(plain).msd, expect, rtol=1e-10)
    np.testing.assert_allclose(layers.z_coordinates(plain).values, np.array(truth)[:, :, 2], rtol=1e-12, atol=1e-12)


def test_density_per_frame_and_errors():
    frames = [structures.rocksalt("GeTe", 2, a=a) for a in (6.0, 6.1, 6.2)]
    ds = density(frames)
    mass = frames[0].get_masses().sum()
    np.testing.assert_allclose(ds.density, [mass * 1.66053906660 / (2 * a) ** 3 for a in (6.0, 6.1, 6.2)])
    np.testing.assert_allclose(ds.number_density, [64 / (2 * a) ** 3 for a in (6.0, 6.1, 6.2)])
    cluster = Atoms("GeTe", positions=[[0, 0, 0], [0, 0, 3]])
    with pytest.raises(MissingDataError, match="not periodic"):
        density(cluster)
    with pytest.raises(ValueError, match="same atoms"):
        msd([frames[0], frames[0][:-1]])
    with pytest.raises(ValueError, match="axis='w'"):
        layers.find_layers(frames[0], "w")


def test_msd_refuses_species_changes_and_warns_about_non_finite_positions(tmp_path):
    from gstorder.errors import GstorderWarning, InconsistentFramesError, InvalidArgumentError

    frames = [structures.rocksalt("GeTe", 2, a=6.0) for _ in range(3)]
    for k, atoms in enumerate(frames):
        atoms.positions += 0.1 * k
    swapped = frames[1].copy()
    ge = int(np.argmax(swapped.numbers == 32))
    swapped.numbers[[0, ge]] = swapped.numbers[[ge, 0]]  # same count, same formula, other atoms
    with pytest.raises(InconsistentFramesError, match=r"frame: atom 0 is Ge, but Te in frame \(2 atoms changed species\); "
                       "msd needs the same atoms in every frame"):
        msd([frames[0], swapped, frames[2]])
    lost = [a.copy() for a in frames]
    lost[1].positions[5] = np.nan
    with pytest.warns(GstorderWarning, match="msd: frame: atom 5 has a non-finite position .1 atom in all.; the mean "
                      "square displacements that include it are NaN from this frame on"):
        ds = msd(lost)
    assert np.isfinite(ds.msd[0]) and np.isnan(ds.msd[1:]).all()
    assert np.isnan(ds.msd_species.sel(species="Te")[1:]).all() and np.isfinite(ds.msd_species.sel(species="Ge")).all()
    heavy = frames[0].copy()
    heavy.set_masses(-heavy.get_masses())  # density once came out negative
    with pytest.raises(InvalidArgumentError, match=r"masses must be positive and finite \(amu\); atom 0 has -127.6 .64 atoms in all."):
        density(heavy)
    path = tmp_path / "run.xyz"
    path.write_text("1\nLattice=\"6 0 0 0 6 0 0 0 6\" Properties=species:S:1:pos:R:3:masses:R:1\nGe 0 0 0 0.0\n")
    with pytest.raises(gstorder.errors.TrajectoryFormatError, match="run.xyz: frame 0, line 2: masses must be positive"):
        density(str(path))


def test_msd_and_density_plots_draw_the_results_values():
    import matplotlib.pyplot as plt

    frames = [structures.rocksalt("GeTe", 2, a=6.0 + 0.01 * k) for k in range(3)]
    for k, f in enumerate(frames):
        f.info["time_ps"] = float(k)
    runs = [msd(frames), msd(frames[::-1])]
    ax = gstorder.plot.msd(runs, labels=["run 1", "run 2"])
    for ds, label in zip(runs, ["run 1", "run 2"]):
        artists.assert_line(ax, label, ds.time, ds.msd)
    assert runs[0].msd.values[-1] > 0
    ax = gstorder.plot.msd(runs[0], species="Te", labels=["Te"])
    artists.assert_line(ax, "Te", runs[0].time, runs[0].msd_species.sel(species="Te"))
    d = density(frames)
    ax = gstorder.plot.density([d], labels=["run"])
    artists.assert_line(ax, "run", d.time, d.density)
    assert np.all(np.diff(d.density.values) < 0)  # the box grows frame by frame
    plt.close("all")


@pytest.mark.parametrize("periodic", [True, False])
def test_nearest_layer_assignment_equals_brute_force(periodic):
    from gstorder.layers import _assign

    rng = np.random.default_rng(3)
    length = 30.0
    positions = rng.uniform(0, length, 12)
    coord = rng.uniform(0, length, 5000) if periodic else rng.uniform(-5, length + 5, 5000)
    d = coord[:, None] - positions[None, :]
    if periodic:
        d -= length * np.round(d / length)
    np.testing.assert_array_equal(_assign(coord, positions, length, periodic), np.argmin(np.abs(d), axis=1))


def test_unwrapped_dump_with_image_flags_is_not_unwrapped_twice(tmp_path):
    text = ""
    for step, (xu, ix) in enumerate([(9.5, 0), (10.5, 1)]):
        text += (f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 10\n0 10\n0 10\n"
                 f"ITEM: ATOMS id type xu yu zu ix iy iz\n1 1 {xu} 5 5 {ix} 0 0\n")
    path = tmp_path / "dump.lammpstrj"
    path.write_text(text)
    np.testing.assert_allclose(msd(gstorder.read_frames(path, species=["Ge"])).msd, [0.0, 1.0])


def test_layers_in_a_tilted_cell_and_an_open_slab():
    atoms = structures.trigonal("Ge1Sb2Te4", (2, 1, 1), orthogonal=True)
    truth = np.unique(np.round(atoms.positions[:, 2], 6))
    tilted = atoms.copy()
    cell = tilted.cell.array.copy()
    cell[2, 0] = 8.0  # c leans along x; layers stay perpendicular to z
    tilted.set_cell(cell, scale_atoms=False)
    found = layers.find_layers(tilted)
    np.testing.assert_allclose(found.position, truth, atol=1e-6)
    slab = atoms.copy()
    slab.cell[2] = 0.0
    slab.pbc = [True, True, False]
    np.testing.assert_allclose(layers.find_layers(slab).position, truth, atol=1e-6)
    with pytest.raises(MissingDataError, match="not periodic along z"):
        layers.z_profile(slab)
    moved = [slab.copy() for _ in range(3)]
    for k, f in enumerate(moved):
        f.positions[:, 0] += 2.0 * k  # less than half the 8.5 Å period per frame
        f.wrap()
    np.testing.assert_allclose(msd(moved).msd, [0, 4, 16])
