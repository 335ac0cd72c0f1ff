"""Crystalline nuclei (issue 21): clusters against scipy's connected components, the crystalline sphere in a
disordered matrix, ids followed over frames, growth velocities and the mean-first-passage-time method."""

import numpy as np
import pytest

from conftest import require
import xarray as xr
from numba import njit

import gstorder
from gstorder import neighbors, nucleation, structures
from gstorder.errors import GstorderWarning, InvalidArgumentError, MissingDataError


def _sphere(radius=14.0, centre=(3.0, 3.0, 3.0), size=8, sigma=0.8, seed=1):
    """Rock-salt GeTe with a crystalline sphere (rattled 0.1 Å) in a strongly disordered matrix (rattled ``sigma`` Å)."""
    atoms = structures.rocksalt("GeTe", size, a=6.0)
    rng = np.random.default_rng(seed)
    d = atoms.positions - np.asarray(centre)
    d -= atoms.cell.diagonal() * np.round(d / atoms.cell.diagonal())
    r = np.linalg.norm(d, axis=1)
    inside = r < radius
    atoms.positions[~inside] += rng.normal(0, sigma, ((~inside).sum(), 3))
    atoms.positions[inside] += rng.normal(0, 0.1, (inside.sum(), 3))
    return atoms, r


def test_the_largest_cluster_is_the_crystalline_sphere_across_the_boundary():
    atoms, r = _sphere()  # centred 3 Å from a corner: the sphere straddles every periodic boundary
    ds = nucleation.clusters(atoms)
    big = ds.cluster.values[0] == int(ds.largest_id[0])
    assert big[r < 14.0 - 3.0].all()  # the core, whole
    assert not big[r > 14.0 + 3.2].any()  # nothing beyond one bond outside the surface
    assert int(ds.largest[0]) == pytest.approx((r < 14.0).sum(), rel=0.1)
    np.testing.assert_allclose(ds.largest_centre.values[0], 3.0, atol=0.7)  # the minimum-image centre
    assert float(ds.largest_radius[0]) == pytest.approx(14.0, rel=0.08)
    assert float(ds.largest_rg[0]) * np.sqrt(5 / 3) == pytest.approx(14.0, rel=0.08)
    assert ds.crystalline_fraction.values[0] < 0.2


def test_clusters_equal_scipy_connected_components_on_the_same_graph():
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    atoms, _ = _sphere(radius=9.0, centre=(20.0, 1.0, 24.0), sigma=0.45, seed=3)  # many clusters, some across boundaries
    ds = nucleation.clusters(atoms, min_size=1)
    solid = gstorder.order.solid_bonds(atoms).solid.values[0].astype(bool)
    nl = neighbors.build(atoms, 3.2)
    keep = solid[nl.i] & solid[nl.j]
    graph = coo_matrix((np.ones(keep.sum()), (nl.i[keep], nl.j[keep])), shape=(len(atoms), len(atoms)))
    n, labels = connected_components(graph, directed=False)
    mine = ds.cluster.values[0]
    assert (mine[solid] > 0).all() and (mine[~solid] == 0).all()
    # the same partition of the solid atoms: a one-to-one map between the labellings
    pairs = set(zip(mine[solid], labels[solid]))
    assert len(pairs) == len(set(mine[solid])) == len(set(labels[solid])) > 10
    sizes = np.sort(np.bincount(labels[solid]))[::-1]
    sizes = sizes[sizes > 0]
    assert int(ds.n_clusters[0]) == len(sizes) and int(ds.largest[0]) == sizes[0]
    np.testing.assert_array_equal(ds.size_count.values[0], np.histogram(sizes, bins=np.append(ds["size"].values,
                                                                                          ds.size_upper.values[-1] + 1))[0])


def test_a_mask_and_min_size():
    atoms, r = _sphere()
    mask = r < 10.0
    ds = nucleation.clusters(atoms, crystalline=mask)
    assert int(ds.largest[0]) == mask.sum() and int(ds.n_clusters[0]) == 1
    assert int(nucleation.clusters(atoms, crystalline=mask, min_size=int(mask.sum()) + 1).n_clusters[0]) == 0


def _growing(radii, seed=5):
    """Frames of one box whose crystalline sphere has these radii; a second small nucleus appears from frame 2."""
    frames = []
    for k, radius in enumerate(radii):
        atoms, r = _sphere(radius=radius, seed=seed + k)
        if k >= 2:
            other, r2 = _sphere(radius=6.0, centre=(27.0, 27.0, 27.0), seed=seed + k)
            atoms.positions[r2 < 6.0] = other.positions[r2 < 6.0]
        atoms.info["time_ps"] = 10.0 * k
        frames.append(atoms)
    return frames


def test_nuclei_keep_their_ids_and_grow_at_the_right_speed():
    radii = [8.0, 9.5, 11.0, 12.5, 14.0]  # 0.15 Å/ps = 15 m/s
    ds = nucleation.clusters(_growing(radii), n_tracked=2)
    assert ds.largest_id.values.tolist() == [1] * 5  # the sphere stays nucleus 1
    assert ds.nucleus.values.tolist()[0] == 1 and ds.nucleus_size.sel(nucleus=1).values.tolist() == ds.largest.values.tolist()
    second = ds.nucleus.values[1]
    assert (ds.nucleus_size.sel(nucleus=second).values[:2] == 0).all() and (ds.nucleus_size.sel(nucleus=second).values[2:] > 0).all()
    v = nucleation.growth_velocity(ds)
    assert float(v.velocity) == pytest.approx(0.15, rel=0.1) and float(v.velocity_si) == pytest.approx(15.0, rel=0.1)
    by_id = nucleation.growth_velocity(ds, nucleus=1, radius="gyration")
    assert float(by_id.velocity) == pytest.approx(0.15, rel=0.15)


def test_front_velocity_from_the_layer_tracking():
    track = xr.Dataset({"melting_front": ("frame", [10.0, np.nan, 14.0, 16.0])},
                       coords={"time": ("frame", [0.0, 1.0, 2.0, 3.0])}, attrs={"axis": "z"})
    v = nucleation.front_velocity(track)
    assert float(v.velocity) == pytest.approx(2.0) and float(v.velocity_si) == pytest.approx(200.0)


def test_analyze_runs_it_in_the_one_pass(tmp_path):
    frames = _growing([8.0, 10.0, 12.0], seed=9)
    tree = gstorder.analyze(frames, ["steinhardt", "clusters"], per_atom=tmp_path / "atoms.nc")
    alone = nucleation.clusters(frames, per_atom=False)
    xr.testing.assert_identical(tree["clusters"].to_dataset(), alone)
    with xr.open_dataset(tmp_path / "atoms.nc") as atoms:
        np.testing.assert_array_equal(atoms.cluster.values, nucleation.clusters(frames).cluster.values)


def test_crystalline_kbar_uses_the_k_bar_threshold():
    atoms = structures.rocksalt("Ge1Sb2Te4", 3, seed=4)
    ds = nucleation.clusters(atoms, crystalline="kbar", kbar={"reference": "rocksalt"}, kbar_threshold=0.5)
    assert int(ds.largest[0]) == len(atoms)
    with pytest.warns(GstorderWarning, match="no crystalline atoms"):
        none = nucleation.clusters(atoms, crystalline="kbar", kbar_threshold=5.0)
    assert int(none.n_clusters[0]) == 0 and np.isnan(none.largest_rg.values[0])


@njit(cache=True)
def _barrier_walk(n_runs, n_star, barrier, n_end, stride, max_steps, seed):
    """Metropolis walks on n ≥ 1 in ΔG(n)/kT = barrier · (3 x² - 2 x³), x = n/n*: the top, n*, is known."""
    np.random.seed(seed)
    out = np.full((n_runs, max_steps // stride), float(n_end))
    for r in range(n_runs):
        n = 1
        for s in range(max_steps):
            if s % stride == 0:
                out[r, s // stride] = n
            if n >= n_end:
                break
            m = n + (1 if np.random.random() < 0.5 else -1)
            if m < 1:
                continue
            x, y = n / n_star, m / n_star
            dg = barrier * ((3 * y * y - 2 * y**3) - (3 * x * x - 2 * x**3))
            if dg <= 0 or np.random.random() < np.exp(-dg):
                n = m
    return out


def test_mfpt_finds_the_top_of_a_known_barrier():
    runs = _barrier_walk(150, 25.0, 6.0, 50, 5, 1_000_000, 7)
    assert (runs.max(axis=1) >= 50).all()
    ds = nucleation.mfpt(runs, timestep=0.01, volume=1e4)
    assert float(ds.n_star) == pytest.approx(25.0, rel=0.1)
    # the Zeldovich factor of the barrier top: sqrt(|ΔG''(n*)| / 2π kT) = sqrt(6 · barrier / 2π) / n*
    assert float(ds.zeldovich) == pytest.approx(np.sqrt(6 * 6.0 / (2 * np.pi)) / 25.0, rel=0.2)
    assert float(ds.J) == pytest.approx(1.0 / (float(ds.tau_j) * 1e4))
    assert float(ds.mfpt.sel(n=int(round(float(ds.n_star))))) == pytest.approx(0.5 * float(ds.tau_j), rel=0.15)
    # clusters() results are series too; they carry their volume
    as_results = [xr.Dataset({"largest": ("frame", r), "volume": ("frame", np.full(len(r), 1e4))},
                             coords={"time": ("frame", 0.01 * np.arange(len(r)))}) for r in runs]
    again = nucleation.mfpt(as_results)
    assert float(again.n_star) == pytest.approx(float(ds.n_star)) and float(again.J) == pytest.approx(float(ds.J))


def test_mfpt_figure_draws():
    import matplotlib.pyplot as plt

    runs = _barrier_walk(30, 10.0, 4.0, 20, 5, 200_000, 1)
    ax = nucleation.draw_mfpt(nucleation.mfpt(runs, timestep=0.01))
    assert len(ax.lines) >= 2
    plt.close("all")


@pytest.mark.parametrize("call, error, match", [
    (lambda: nucleation.mfpt([np.arange(10.0)], timestep=1.0), InvalidArgumentError, "many independent runs"),
    (lambda: nucleation.mfpt([np.arange(10.0)] * 3), MissingDataError, "timestep"),
    (lambda: nucleation.mfpt("runs", timestep=1.0), InvalidArgumentError, "many runs"),
    (lambda: nucleation.clusters(structures.rocksalt("GeTe", 2, a=6.0), crystalline="solid"), InvalidArgumentError,
     "choose one of 'solid_bonds', 'kbar'"),
    (lambda: nucleation.clusters(structures.rocksalt("GeTe", 2, a=6.0), crystalline=np.ones(5, bool)),
     InvalidArgumentError, "covers 5 atoms"),
    (lambda: nucleation.clusters(structures.rocksalt("GeTe", 2, a=6.0), crystalline=np.ones(64)), InvalidArgumentError,
     "boolean mask"),
    (lambda: nucleation.clusters(structures.rocksalt("GeTe", 2, a=6.0), min_size=0), InvalidArgumentError,
     "min_size must be a positive integer"),
    (lambda: nucleation.growth_velocity(xr.Dataset({"largest_radius": ("frame", [1.0, 2.0])})), MissingDataError,
     "frame times"),
])
def test_bad_input_is_refused_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_no_crystalline_atoms_warn_and_give_empty_nuclei():
    atoms, _ = _sphere(radius=0.5, sigma=1.2)
    with pytest.warns(GstorderWarning, match="no crystalline atoms"):
        ds = nucleation.clusters(atoms, crystalline=np.zeros(len(atoms), bool))
    assert int(ds.largest[0]) == 0 and ds.nucleus.size == 0


@pytest.mark.slow
def test_a_short_recrystallisation_run_grows_its_largest_nucleus(tmp_path):
    """MD with the demo GAP: a crystalline seed (r < 5.5 Å) in a strongly disordered rock-salt matrix at 300 K."""
    require("quippy", "quippy")  # the demo GAP needs quippy-ase
    from gstorder import md

    atoms = structures.rocksalt("Ge1Sb2Te4", 3, seed=1)
    r = np.linalg.norm(atoms.positions - atoms.cell.diagonal() / 2, axis=1)
    atoms.positions[r > 5.5] += np.random.default_rng(0).normal(0, 0.35, ((r > 5.5).sum(), 3))
    md.run(atoms, md.demo_gap(), [md.Segment(0.06, "nvt", 300.0)], trajectory=tmp_path / "run.xyz", write_every=10,
           seed=1, langevin_damp_ps=0.01)
    ds = nucleation.clusters(tmp_path / "run.xyz", min_size=3)
    largest = ds.largest.values
    assert ds.sizes["frame"] == 4 and (np.diff(largest) > 0).all() and largest[-1] > 1.5 * largest[0]
    assert (np.diff(ds.crystalline_fraction.values) > 0).all()
    assert (ds.largest_id.values == ds.largest_id.values[0]).all()  # one nucleus, one id, growing
