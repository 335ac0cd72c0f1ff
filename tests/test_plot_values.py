"""Plots and per-species results draw and report the numbers they are given (tests a wrong array would fail)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from ase import Atoms

import gstorder
from gstorder import layers, plot, structures


def test_plot_rdf_draws_each_pair_with_its_offset_and_band():
    atoms = structures.rocksalt("GeTe", 3)
    atoms.rattle(0.1, seed=3)
    ds = gstorder.rdf([atoms, atoms], r_max=6.0)
    ax = plot.rdf(ds, offset=2.0)
    pairs = list(ds.pair.values)
    assert [line.get_label() for line in ax.lines] == pairs
    for k, (line, pair) in enumerate(zip(ax.lines, pairs)):
        np.testing.assert_array_equal(line.get_xdata(), ds.r.values)
        np.testing.assert_allclose(line.get_ydata(), ds.g.sel(pair=pair).values + 2.0 * k)
    band = ax.collections[0].get_paths()[0].vertices[:, 1]  # fill_between of the first pair: g ± std
    g, s = ds.g.sel(pair=pairs[0]).values, ds.g_std.sel(pair=pairs[0]).values
    assert band.min() == pytest.approx((g - s).min()) and band.max() == pytest.approx((g + s).max())
    plt.close(ax.figure)


def test_kbar_slice_colours_each_atom_of_the_slab_by_its_own_kbar():
    atoms = structures.rocksalt("GeTe", (4, 4, 4), a=6.0)
    n = len(atoms)
    kbar = np.linspace(0.0, 1.0, n)[np.random.default_rng(0).permutation(n)]
    ds = xr.Dataset({"kbar": (("frame", "atom"), kbar[None])})
    antisite = np.zeros(n, dtype=bool)
    antisite[::17] = True
    ax = plot.kbar_slice(atoms, ds, axis="y", centre=6.0, thickness=1.0, antisites=antisite, colorbar=False)
    coloured, black = ax.collections
    in_slab = np.abs(atoms.positions[:, 1] - 6.0) < 0.5
    shown = in_slab & ~antisite
    order = np.argsort(atoms.positions[shown, 1])
    np.testing.assert_array_equal(coloured.get_offsets(), atoms.positions[shown][order][:, [0, 2]])
    np.testing.assert_array_equal(coloured.get_array(), kbar[shown][order])
    ax.figure.canvas.draw()  # face colours are mapped at draw time
    expected = plot.kbar_colormap()(kbar[shown][order])  # fixed 0..1 scale: the value is the colour
    np.testing.assert_allclose(coloured.get_facecolors(), expected, atol=1e-12)
    np.testing.assert_array_equal(black.get_offsets(), atoms.positions[in_slab & antisite][:, [0, 2]])
    assert (black.get_facecolors()[:, :3] == 0).all()
    plt.close(ax.figure)


def test_msd_per_species_follows_each_species_own_drift():
    cell = 20.0
    frames = []
    for t in range(5):  # Ge moves 0.3 Å per frame along x, Te 0.1 Å along z, Sb stays
        atoms = Atoms("GeGeTeTeSb", positions=[[1, 1, 1], [5, 5, 5], [9, 9, 9], [13, 3, 7], [2, 8, 4]], cell=[cell] * 3,
                      pbc=True)
        atoms.positions[:2, 0] += 0.3 * t
        atoms.positions[2:4, 2] += 0.1 * t
        frames.append(atoms)
    ds = gstorder.msd(frames)
    t = np.arange(5)
    np.testing.assert_allclose(ds.msd_species.sel(species="Ge").values, (0.3 * t) ** 2, atol=1e-12)
    np.testing.assert_allclose(ds.msd_species.sel(species="Te").values, (0.1 * t) ** 2, atol=1e-12)
    np.testing.assert_allclose(ds.msd_species.sel(species="Sb").values, 0.0, atol=1e-12)
    np.testing.assert_allclose(ds.msd.values, (2 * (0.3 * t) ** 2 + 2 * (0.1 * t) ** 2) / 5, atol=1e-12)


def test_z_evolution_puts_each_species_in_its_own_panel_at_its_own_heights():
    atoms = Atoms("GeTeTeSb", positions=[[0, 0, 1.0], [0, 0, 4.0], [1, 1, 4.5], [0, 0, 7.0]], cell=[10, 10, 10], pbc=True)
    frames = []
    for t in range(3):
        a = atoms.copy()
        a.positions[a.numbers == 52, 2] += 0.5 * t  # Te rises, Ge and Sb stay
        frames.append(a)
    z = layers.z_coordinates(frames)
    axes = plot.z_evolution(z)
    assert [a.get_title() for a in axes] == ["Ge", "Sb", "Te"]
    heights = {a.get_title(): np.sort(a.collections[0].get_offsets()[:, 1]) for a in axes}
    np.testing.assert_allclose(heights["Ge"], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(heights["Sb"], [7.0, 7.0, 7.0])
    np.testing.assert_allclose(heights["Te"], np.sort([4.0, 4.5, 4.5, 5.0, 5.0, 5.5]))
    assert all(np.allclose(a.collections[0].get_facecolors()[0][:3],
                           plt.matplotlib.colors.to_rgb(plot.SPECIES_COLOURS[a.get_title()])) for a in axes)
    plt.close(axes[0].figure)
