"""k̄ crystallinity: physics, backends, chunks, groups, references, calibration, output."""

import numpy as np
import pytest
import xarray as xr
from ase.io import read
from conftest import requires_quippy, extdata

import artists
import gstorder
from gstorder import crystallinity, structures
from gstorder.errors import EmptyFrameError, UnknownSpeciesError



@pytest.fixture(scope="module")
def alpha_gete():
    return structures.trigonal("GeTe", functional="experiment")


def test_crystal_scores_one_against_itself(alpha_gete):
    ds = crystallinity.kbar(alpha_gete.repeat((3, 3, 2)), reference=alpha_gete)
    np.testing.assert_allclose(ds.k, 1.0, atol=1e-12)
    np.testing.assert_allclose(ds.kbar, 1.0, atol=1e-12)
    assert ds.kbar.dims == ("frame", "atom") and list(ds.species.values) == ["Ge", "Te"]


def test_rocksalt_scores_high_rattled_lower_liquid_lowest():
    other = structures.rocksalt("Ge1Sb2Te4", 3, seed=11)  # another vacancy arrangement
    rattled = other.copy()
    rattled.rattle(0.25, seed=1)
    hot = other.copy()
    hot.rattle(0.6, seed=2)
    values = [float(crystallinity.kbar(x).kbar_mean[0]) for x in (other, rattled, hot)]
    assert values[0] > values[1] > values[2]
    assert values[0] > 0.6 and values[2] < 0.45
    same = float(crystallinity.kbar(structures.rocksalt_references()[0]).kbar_mean[0])
    assert same == pytest.approx(values[0], abs=0.02)  # a reference model is not special


def test_real_gete_crystal_amorphous_liquid_order(alpha_gete):
    crystal = read(extdata("GeTe_alpha_13824at_altbc_POSCAR"))
    amorphous = read(extdata("aGeTe_AIMD_300K_216at_400fr.extxyz"), "::100")
    liquid = read(extdata("lGeTe_AIMD_1000K_216at_40fr.extxyz"), "::10")
    opts = dict(reference=alpha_gete, soap=dict(species=["Ge", "Te"]))
    k = [float(crystallinity.kbar(x, **opts).kbar_mean.mean()) for x in (crystal, amorphous, liquid)]
    assert k[0] > 0.9 > k[1] > k[2]
    assert k[1] - k[2] > 0.1


@requires_quippy
def test_numba_equals_quippy_backend():
    atoms = structures.rocksalt("Ge1Sb2Te4", 3, seed=4)
    atoms.rattle(0.2, seed=3)
    a = crystallinity.kbar(atoms, backend="numba")
    b = crystallinity.kbar(atoms, backend="quippy")
    assert np.abs(a.kbar - b.kbar).max() < 1e-10 and np.abs(a.k - b.k).max() < 1e-10


def test_serial_parallel_and_chunked_agree():
    atoms = structures.rocksalt("Ge1Sb2Te4", 4, seed=5)
    atoms.rattle(0.2, seed=4)
    ref = crystallinity.kbar(atoms, parallel=False)
    for kw in [dict(parallel=True), dict(parallel=True, block_size=50), dict(block_size=7)]:
        other = crystallinity.kbar(atoms, **kw)
        assert np.abs(other.kbar - ref.kbar).max() < 1e-10


def test_groups_keep_te_away_from_cation_environments(alpha_gete):
    """A Te atom scored against a reference whose Te environments are swapped for Ge ones."""
    swapped = alpha_gete.copy()
    swapped.numbers = np.where(swapped.numbers == 32, 52, 32)  # Ge sites now hold Te and vice versa
    ds = crystallinity.kbar(alpha_gete, reference=alpha_gete, groups=("Ge", "Te"), soap=dict(species=["Ge", "Te"]))
    assert np.allclose(ds.k, 1.0)
    ref = crystallinity.reference(swapped, groups=("Ge", "Te"), species=["Ge", "Te"])
    by_hand = {}
    v = crystallinity.soap(alpha_gete, species=["Ge", "Te"]).values[0]
    for g, z in (("Ge", 32), ("Te", 52)):
        rows = alpha_gete.numbers == z
        by_hand[z] = ((v[rows] @ ref.vectors[g].T) ** 4 @ ref.weights[g]) / ref.weights[g].sum()
    out = crystallinity.kbar(alpha_gete, reference=ref)
    np.testing.assert_allclose(out.k.values[0][alpha_gete.numbers == 52], by_hand[52], atol=1e-12)
    np.testing.assert_allclose(out.k.values[0][alpha_gete.numbers == 32], by_hand[32], atol=1e-12)
    assert ref.groups == {"Ge": ("Ge",), "Te": ("Te",)}


def test_neighbour_average_by_hand():
    atoms = structures.rocksalt("Ge1Sb2Te4", 3, seed=6)
    atoms.rattle(0.2, seed=5)
    ds = crystallinity.kbar(atoms)
    raw = crystallinity.kbar(atoms, neighbour_average=False)
    np.testing.assert_array_equal(raw.kbar, raw.k)
    i, j = gstorder.neighbors.neighbor_list("ij", atoms, 3.2)
    k = ds.k.values[0]
    expect = (k + np.bincount(i, weights=k[j], minlength=len(atoms))) / (1 + np.bincount(i, minlength=len(atoms)))
    np.testing.assert_allclose(ds.kbar.values[0], expect, atol=1e-14)
    assert float(ds.kbar_mean[0]) == pytest.approx(expect.mean())
    te = atoms.numbers == 52
    assert float(ds.kbar_species.sel(species="Te")[0]) == pytest.approx(expect[te].mean())


def test_identical_environments_merge_without_changing_kbar(alpha_gete):
    big = alpha_gete.repeat((2, 2, 1))
    merged = crystallinity.reference(big, species=["Ge", "Te"])
    unmerged = crystallinity.reference(big, species=["Ge", "Te"], merge_tolerance=0)
    assert merged.n_environments == {"cations": (1, 12.0), "anions": (1, 12.0)}
    assert unmerged.n_environments["cations"] == (12, 12.0)
    frame = alpha_gete.copy()
    frame.rattle(0.2, seed=1)
    a = crystallinity.kbar(frame, reference=merged)
    b = crystallinity.kbar(frame, reference=unmerged)
    assert np.abs(a.kbar - b.kbar).max() < 1e-12


def test_reference_save_load_and_named(tmp_path):
    ref = crystallinity.reference("trigonal")
    path = tmp_path / "trigonal_ref.npz"
    ref.save(path)
    back = crystallinity.Reference.load(path)
    assert back.settings == ref.settings and back.groups == ref.groups and back.description == ref.description
    atoms = structures.trigonal("Ge1Sb2Te4", (2, 2, 1))
    xr.testing.assert_identical(crystallinity.kbar(atoms, reference=str(path)).kbar,
                                crystallinity.kbar(atoms, reference="trigonal").kbar)
    assert not list(tmp_path.glob(".gstorder-*"))  # no temporary file left behind
    (tmp_path / "junk.npz").write_bytes(b"not a reference")
    with pytest.raises(ValueError, match="not a gstorder reference"):
        crystallinity.Reference.load(tmp_path / "junk.npz")
    with pytest.raises(ValueError, match="soap options differ"):
        crystallinity.kbar(atoms, reference=ref, soap=dict(l_max=6))
    with pytest.raises(ValueError, match="soap options differ"):  # a saved file is checked the same way
        crystallinity.kbar(atoms, reference=str(path), soap=dict(l_max=6))
    with pytest.raises(ValueError, match="differ from the reference's own"):
        crystallinity.kbar(atoms, reference=str(path), groups=("Ge", "Sb", "Te"))
    a, b = crystallinity.reference("trigonal"), crystallinity.reference("trigonal")
    a.vectors.clear()
    assert b.vectors  # cached named references are handed out as copies


def test_bad_input_is_refused_clearly(alpha_gete):
    gst = structures.rocksalt("Ge1Sb2Te4", 3, seed=0)
    with pytest.raises(UnknownSpeciesError, match=r"contains \['Sb'\]"):
        crystallinity.kbar(gst, reference=alpha_gete, soap=dict(species=["Ge", "Te"]))
    with pytest.raises(UnknownSpeciesError, match="no atoms of group"):
        crystallinity.reference(alpha_gete, groups=("Ge", "Sb", "Te"))
    with pytest.raises(ValueError, match="reference='cubic'"):
        crystallinity.kbar(gst, reference="cubic")
    with pytest.raises(EmptyFrameError):
        crystallinity.kbar(gst[:0])
    with pytest.raises(UnknownSpeciesError):
        crystallinity.kbar(gst, groups=(("Ge", "Sb"), ("Tx",)))
    with pytest.raises(ValueError, match="in two groups"):
        crystallinity.kbar(gst, groups=(("Ge", "Sb"), ("Sb", "Te")))
    with pytest.raises(ValueError, match="zeta must be positive"):
        crystallinity.kbar(gst, zeta=0)
    with pytest.raises(ValueError, match="other atoms than the first frame"):
        crystallinity.kbar([gst, gst[:-1]])


def test_calibration_threshold_labels_and_fraction(alpha_gete):
    crystal = alpha_gete.repeat((3, 3, 2))
    crystal.rattle(0.1, seed=2)
    amorphous = read(extdata("aGeTe_AIMD_300K_216at_400fr.extxyz"), "::100")
    opts = dict(reference=alpha_gete, soap=dict(species=["Ge", "Te"]))
    cal = crystallinity.calibrate(crystal, amorphous, **opts)
    kc = crystallinity.kbar(crystal, **opts)
    ka = crystallinity.kbar(amorphous, **opts)
    assert float(ka.kbar.max()) < cal.threshold < float(kc.kbar.min())  # two separated distributions
    assert cal.misclassified == 0.0
    assert bool(cal.label(kc).all()) and not bool(cal.label(ka).any())
    np.testing.assert_array_equal(cal.fraction(ka), 0.0)
    with pytest.raises(ValueError, match="not below the crystal"):
        crystallinity.calibrate(ka, kc)


def test_per_atom_output_for_ovito_and_netcdf(tmp_path):
    frames = list(gstorder.read_frames(gstorder_example(), index=slice(0, 3)))
    ds = crystallinity.kbar(frames)
    path = tmp_path / "kbar.extxyz"
    crystallinity.write_extxyz(path, frames, ds)
    back = read(path, ":")
    assert len(back) == 3
    np.testing.assert_allclose(back[2].arrays["kbar"], ds.kbar[2], rtol=1e-7)
    np.testing.assert_allclose(ds.time, [f.time for f in frames])
    ds.to_netcdf(tmp_path / "kbar.nc")
    xr.testing.assert_allclose(xr.load_dataset(tmp_path / "kbar.nc"), ds)


def gstorder_example():
    from pathlib import Path

    return Path(__file__).resolve().parents[1] / "data" / "gst124_rocksalt_189at_thermal.extxyz"


def test_kbar_plots_draw_the_results_values():
    import matplotlib.pyplot as plt

    frames = list(gstorder.read_frames(gstorder_example(), index=slice(0, 4)))
    ds = crystallinity.kbar(frames)
    other = ds.copy(deep=True)
    other["kbar_mean"] = ds.kbar_mean * 0.5  # a second run that differs
    ax = gstorder.plot.kbar_time([ds, other], labels=["run 1", "run 2"])
    assert ax.get_xlabel() == "time (ps)"
    artists.assert_line(ax, "run 1", ds.time, ds.kbar_mean)
    artists.assert_line(ax, "run 2", ds.time, other.kbar_mean)
    ax = gstorder.plot.kbar_time(ds, species="Te", labels=["Te"])
    artists.assert_line(ax, "Te", ds.time, ds.kbar_species.sel(species="Te"))
    ax = gstorder.plot.kbar_pulses(ds, start=1, labels=["pulses"])
    artists.assert_line(ax, "pulses", [1, 2, 3, 4], ds.kbar_mean)
    ax = gstorder.plot.kbar_histogram(ds, threshold=0.6, bins=20)
    values = ds.kbar.values
    edges = np.linspace(values.min(), values.max(), 21)
    for patch, species in zip(ax.patches, ds.species.values):  # one outline per species, pooled over frames
        drawn_edges, heights = artists.step_histogram(patch)
        np.testing.assert_allclose(drawn_edges, edges)
        expected = np.histogram(values[:, ds.symbol.values == species].ravel(), bins=edges, density=True)[0]
        np.testing.assert_allclose(heights, expected)
    assert len(ax.patches) == ds.sizes["species"]
    np.testing.assert_allclose(artists.lines(ax)["threshold 0.600"][0], 0.6)
    with pytest.raises(ValueError, match="axis='w'"):
        gstorder.plot.kbar_slice(frames[-1], ds, axis="w")
    plt.close("all")


def test_frames_in_worker_processes_equal_one_process():
    frames = list(gstorder.read_frames(gstorder_example(), index=slice(0, 6)))
    one = crystallinity.kbar(frames)
    two = crystallinity.kbar(frames, workers=2)
    assert np.abs(one.kbar - two.kbar).max() < 1e-12
    np.testing.assert_array_equal(one.time, two.time)
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        crystallinity.kbar(frames, workers=0)


# --------------------------------------------------------------------------- the paper's scale: ideal crystal = 1


def test_ideal_crystals_score_one_on_the_default_scale():
    rocksalt = crystallinity.kbar(structures.rocksalt("Ge1Sb2Te4", 4, seed=11))  # another arrangement than the references
    trigonal = crystallinity.kbar(structures.trigonal("Ge1Sb2Te4").repeat((3, 3, 2)), reference="trigonal")
    assert float(rocksalt.kbar_mean[0]) == pytest.approx(1.0, abs=0.02)
    assert float(trigonal.kbar_mean[0]) == pytest.approx(1.0, abs=0.02)
    assert rocksalt.attrs["normalise"] == "reference" and "cations" in rocksalt.attrs["self_similarity"]


def test_symmetry_equivalent_atoms_score_identically_in_a_non_cubic_supercell():
    cell = structures.trigonal("Ge1Sb2Te4")
    one = crystallinity.kbar(cell, reference="trigonal")
    big = crystallinity.kbar(cell.repeat((2, 3, 1)), reference="trigonal")
    np.testing.assert_allclose(big.kbar.values[0], np.tile(one.kbar.values[0], 6), atol=1e-12)


def test_normalisations_against_a_computation_by_hand():
    atoms = structures.rocksalt("Ge1Sb2Te4", 3, seed=7)
    atoms.rattle(0.1, seed=2)
    ref = crystallinity.reference("rocksalt")
    raw, scaled, best = (crystallinity.kbar(atoms, normalize=n, neighbour_average=False) for n in ("none", "reference", "best"))
    v = crystallinity.soap(atoms).values[0]
    for g, species in ref.groups.items():
        rows = np.isin(atoms.get_chemical_symbols(), species)
        w = ref.weights[g] / ref.weights[g].sum()
        products = (v[rows] @ ref.vectors[g].T) ** 4
        self_sim = w @ (ref.vectors[g] @ ref.vectors[g].T) ** 4 @ w
        np.testing.assert_allclose(raw.k.values[0][rows], products @ w, atol=1e-12)
        np.testing.assert_allclose(scaled.k.values[0][rows], products @ w / self_sim, atol=1e-12)
        np.testing.assert_allclose(best.k.values[0][rows], products.max(axis=1), atol=1e-12)
    assert (best.k.values <= 1 + 1e-12).all()
    with pytest.raises(ValueError, match="normalize=.max.; choose one of"):
        crystallinity.kbar(atoms, normalize="max")


def test_real_gete_on_the_rocksalt_scale_stays_well_below_one():
    amorphous = read(extdata("aGeTe_AIMD_300K_216at_400fr.extxyz"), "::100")
    liquid = read(extdata("lGeTe_AIMD_1000K_216at_40fr.extxyz"), "::10")
    crystal = structures.rocksalt("Ge1Sb2Te4", 3, seed=11)
    k = [float(crystallinity.kbar(x).kbar_mean.mean()) for x in (crystal, amorphous, liquid)]
    # measured: crystal 0.99-1.00, amorphous GeTe 0.19, liquid GeTe 0.13
    assert k[0] > 0.97 and k[1] < 0.3 and k[2] < k[1]


def test_kbar_slice_draws_an_ideal_crystal_yellow_on_a_fixed_scale():
    import matplotlib
    import matplotlib.pyplot as plt

    crystal = structures.trigonal("Ge1Sb2Te4").repeat((3, 3, 1))
    ds = crystallinity.kbar(crystal, reference="trigonal")
    ax = gstorder.plot.kbar_slice(crystal, ds, axis="y", thickness=40.0)
    points = ax.collections[0]
    assert points.norm.vmin == 0.0 and points.norm.vmax == 1.0  # not scaled to the data
    yellow = np.array(matplotlib.colors.to_rgba("#ffe21f"))
    colours = points.to_rgba(points.get_array())
    assert np.abs(colours - yellow).max(axis=1).mean() < 0.08  # the whole ideal crystal near the top of the scale
    plt.close(ax.figure)


def test_antisites_are_found_from_the_lattice_and_drawn_black():
    import matplotlib.pyplot as plt

    atoms = structures.rocksalt("Ge1Sb2Te4", 4, seed=3, antisite_fraction=0.05)
    truth = atoms.arrays["antisite"]
    assert truth.sum() > 10
    np.testing.assert_array_equal(crystallinity.antisites(atoms), truth)
    thermal = atoms.copy()
    thermal.rattle(0.12, seed=1)
    thermal.positions += [0.7, -0.4, 1.1]  # another origin
    np.testing.assert_array_equal(crystallinity.antisites(thermal, a=None), truth)
    del thermal.info["a"]  # the lattice constant estimated from the bonds
    np.testing.assert_array_equal(crystallinity.antisites(thermal), truth)
    ds = crystallinity.kbar(atoms)
    ax = gstorder.plot.kbar_slice(atoms, ds, thickness=100.0, antisites=truth)
    black = ax.collections[1]
    assert len(black.get_offsets()) == truth.sum() and np.allclose(black.get_facecolor()[0][:3], 0.0)
    assert len(ax.collections[0].get_offsets()) == len(atoms) - truth.sum()
    plt.close(ax.figure)
    with pytest.raises(gstorder.errors.LatticeMismatchError, match="does not fit a rock-salt lattice"):
        crystallinity.antisites(structures.trigonal("Ge1Sb2Te4"))
    for bad in (0.0, -0.1, float("nan"), 2.0):
        with pytest.raises(ValueError, match="tolerance must be (> 0 and ≤ 1|a finite number)"):
            crystallinity.antisites(atoms, tolerance=bad)
    with pytest.raises(ValueError, match="a must be a finite number"):
        crystallinity.antisites(atoms, a=float("nan"))
    with pytest.raises(gstorder.errors.UnknownSpeciesError, match="needs Te and Ge/Sb"):
        crystallinity.antisites(structures.rocksalt("GeTe", 2, a=6.0)[[0, 2]])


def test_plot_kbar_against_temperature_and_per_layer():
    import matplotlib.pyplot as plt

    cell = structures.trigonal("Ge1Sb2Te4").repeat((2, 2, 1))
    frames = []
    for k in range(3):
        atoms = cell.copy()
        atoms.rattle(0.1 * k, seed=k)
        frames.append(atoms)
    ds = crystallinity.kbar(frames, reference="trigonal")
    ax = gstorder.plot.kbar_temperature(ds, [300.0, 600.0, 900.0])
    x, y = ax.lines[0].get_data()
    np.testing.assert_allclose(x, [300, 600, 900])
    np.testing.assert_allclose(y, ds.kbar_mean.values)
    with pytest.raises(ValueError, match="2 temperatures for 3 frames"):
        gstorder.plot.kbar_temperature(ds, [300.0, 600.0])
    track = gstorder.layers.track_layers(frames, kbar=ds)
    ax = gstorder.plot.layer_kbar(track)
    mesh = ax.collections[0]
    assert mesh.norm.vmin == 0.0 and mesh.norm.vmax == 1.0
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(track.kbar.T.shape), track.kbar.values.T)
    with pytest.raises(ValueError, match="no per-layer k̄"):
        gstorder.plot.layer_kbar(gstorder.layers.track_layers(frames))
    p = gstorder.altbc(structures.trigonal("GeTe", (3, 3, 1), functional="experiment"))
    ax = gstorder.plot.altbc(p, smooth_bins=1.0, contours=4)
    assert len(ax.collections) >= 2  # the map and its contour lines
    plt.close("all")


# --------------------------------------------------------------------------- low-rank reference products (issue 23)


@pytest.fixture(scope="module")
def rattled_rocksalt():
    atoms = structures.rocksalt("Ge1Sb2Te4", 3, seed=3)
    atoms.rattle(0.15, seed=4)
    return atoms


def _direct(monkeypatch):
    """Force the direct product: no singular value dropped (so no factorisation pays), no component left out."""
    monkeypatch.setattr(crystallinity, "RANK_TOLERANCE", 0.0)
    monkeypatch.setattr(crystallinity, "ZERO_COMPONENT", -1.0)


def test_rocksalt_reference_is_factorised_at_its_numerical_rank():
    plan = crystallinity.ReferenceProducts(crystallinity.reference("rocksalt"))
    cations, anions = plan.groups
    assert (cations.rank, anions.rank) == (18, 28)  # of 234 and 319 environments
    assert cations.coefficients.shape == (18, 234) and anions.coefficients.shape == (28, 319)
    assert plan.rows == 46  # products per atom: 18 (cations) or 28 (anions), not 234 or 319
    assert plan.used == 3331 - 1099  # components zero in every rock-salt environment (odd l) are left out
    # the trigonal reference (2 + 2 environments) and a full-rank user reference keep the direct product
    trigonal = crystallinity.ReferenceProducts(crystallinity.reference("trigonal"))
    assert all(g.coefficients is None for g in trigonal.groups) and trigonal.rows == 4
    amorphous = read(extdata("aGeTe_AIMD_300K_216at_400fr.extxyz"), 0)
    user = crystallinity.ReferenceProducts(crystallinity.reference(amorphous))
    assert all(g.coefficients is None and g.rank == g.stop - g.start for g in user.groups)
    for bad in (np.nan, -1e-13, 2.0, "small"):
        with pytest.raises(gstorder.errors.GstorderError, match="tolerance"):
            crystallinity.ReferenceProducts(crystallinity.reference("trigonal"), tolerance=bad)
    with pytest.raises(gstorder.errors.ArgumentTypeError, match="needs a Reference"):
        crystallinity.ReferenceProducts("rocksalt")


@pytest.mark.parametrize("zeta", [1, 2, 3.5, 4, 8])
def test_low_rank_kbar_equals_the_direct_product(rattled_rocksalt, monkeypatch, zeta):
    low = {n: crystallinity.kbar(rattled_rocksalt, zeta=zeta, normalize=n) for n in crystallinity.NORMALISATIONS}
    _direct(monkeypatch)
    for n, ds in low.items():
        direct = crystallinity.kbar(rattled_rocksalt, zeta=zeta, normalize=n)
        for name in ("k", "kbar"):
            np.testing.assert_allclose(ds[name].values, direct[name].values, rtol=0, atol=1e-10)
        assert np.abs(ds.k - direct.k).max() > 0 or zeta == 1  # the two routes did differ (in the last bits)


def test_low_rank_kbar_equals_numpy_by_hand_on_a_triclinic_cell():
    """Against the definition on an independent path: quippy-equal SOAP vectors, NumPy products, no factorising."""
    atoms = structures.trigonal("Ge1Sb2Te4").repeat((2, 2, 1))
    atoms.rattle(0.2, seed=5)
    assert not np.allclose(atoms.cell.angles(), 90)
    ref = crystallinity.reference("rocksalt")
    ds = crystallinity.kbar(atoms, zeta=8, normalize="none", neighbour_average=False)
    v = crystallinity.soap(atoms).values[0]
    for g, species in ref.groups.items():
        rows = np.isin(atoms.get_chemical_symbols(), species)
        w = ref.weights[g] / ref.weights[g].sum()
        np.testing.assert_allclose(ds.k.values[0][rows], (v[rows] @ ref.vectors[g].T) ** 8 @ w, rtol=0, atol=1e-10)


def test_low_rank_with_merged_weights_and_through_calibrate(monkeypatch, alpha_gete):
    crystal = structures.rocksalt("Ge1Sb2Te4", 3, seed=8)
    amorphous = read(extdata("aGeTe_AIMD_300K_216at_400fr.extxyz"), "::200")
    ref = crystallinity.reference("rocksalt")
    assert (ref.weights["cations"] > 1).any()  # merged environments carry their multiplicity
    low = crystallinity.calibrate(crystal, amorphous, zeta=6)
    _direct(monkeypatch)
    direct = crystallinity.calibrate(crystal, amorphous, zeta=6)
    assert abs(low.threshold - direct.threshold) < 1e-10
    xr.testing.assert_allclose(low.histogram, direct.histogram, rtol=0, atol=1e-8)


@pytest.mark.parametrize("soap", [{"covariance_sigma0": 0.5}, {"normalise": False}])
def test_low_rank_with_sigma0_and_unnormalised_vectors(rattled_rocksalt, monkeypatch, soap):
    """σ0 adds a constant component (its column moves with the permutation); unnormalised vectors are tiny."""
    low = crystallinity.kbar(rattled_rocksalt, soap=soap, normalize="none")
    plan = crystallinity.ReferenceProducts(crystallinity.reference("rocksalt", **soap))
    assert plan.used == 3331 - 1099 + ("covariance_sigma0" in soap)
    _direct(monkeypatch)
    direct = crystallinity.kbar(rattled_rocksalt, soap=soap, normalize="none")
    scale = float(np.abs(direct.k).max())
    np.testing.assert_allclose(low.k.values, direct.k.values, rtol=0, atol=1e-12 * scale)
