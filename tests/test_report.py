"""Run reports from a results tree: key numbers, text, figures and the HTML page."""

import base64
import html
import re
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import xarray as xr
from ase import Atoms

import artists
import gstorder
from gstorder import crystallinity, layers, report, structures

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "gst124_rocksalt_189at_thermal.extxyz"

ALL_FIGURES = {"rdf", "adf", "bond_motifs", "altbc", "kbar", "temperature_map", "z_profile", "layers", "msd", "density"}


def run_attrs(frames, source=EXAMPLE):
    """Root attrs as ``gstorder analyze`` records them."""
    first = frames[0]
    return {"gstorder_version": gstorder.__version__, "source": str(source), "format": "extxyz", "n_frames": len(frames),
            "n_atoms": len(first), "formula": first.formula,
            "cell_lengths": " ".join(f"{x:.3f}" for x in np.linalg.norm(first.cell, axis=1)),
            "pbc": str(first.pbc.tolist()), "time_first": frames[0].time, "time_last": frames[-1].time,
            "has_velocities": int(first.velocities is not None)}


def make_tree(groups, attrs):
    return xr.DataTree.from_dict({"/": xr.Dataset(attrs=attrs), **groups})


@pytest.fixture(scope="module")
def frames():
    return list(gstorder.read_frames(EXAMPLE, index=slice(0, 20, 4)))


@pytest.fixture(scope="module")
def groups(frames):
    """Every analysis of the example, as the analyze command stores it (k̄ once per module: a few seconds)."""
    p = gstorder.altbc(frames).to_dataset()
    p["altbc_normalized"] = gstorder.altbc(frames, normalize=True)
    return {
        "rdf": gstorder.rdf(frames, r_max=8.0),
        "adf": gstorder.adf(frames, cutoff=3.2),
        "motifs": gstorder.bond_motifs(frames, cutoff=3.2),
        "altbc": p,
        "kbar": crystallinity.kbar(frames, reference="rocksalt").drop_vars(["k", "kbar"]),
        "temperature": gstorder.temperature_map(frames, bins=(6, 4)),  # the default 60 x 36 grid is empty for 189 atoms
        "z_profile": layers.z_profile(frames),
        "layers": layers.track_layers(frames),
        "msd": gstorder.msd(frames),
        "density": gstorder.density(frames),
    }


@pytest.fixture(scope="module")
def tree(frames, groups):
    return make_tree(groups, run_attrs(frames))


@pytest.fixture(scope="module")
def figures(tree, tmp_path_factory):
    """The example's figures, written once (about a second each)."""
    folder = tmp_path_factory.mktemp("run")
    return folder, report.write_figures(tree, folder)


def test_key_numbers_of_the_example(tree):
    rows = report.key_numbers(tree)
    table = dict(rows)
    labels = [label for label, _ in rows]
    assert labels[:6] == ["format", "atoms", "cell", "density", "time", "velocities"]
    assert labels.index("g(r)") < labels.index("tetrahedral Ge") < labels.index("ALTBC") < labels.index("k̄ (rocksalt)")
    assert table["format"] == "extxyz, 5 frames analysed"
    assert table["atoms"] == "189  (Ge27Sb54Te108)"
    assert table["cell"] == "18.000 x 18.000 x 18.000 Å, pbc [True, True, True]"
    assert table["density"] == "6.354 g/cm³"  # NVT: no range
    assert table["time"] == "0 to 1.6 ps" and table["velocities"] == "yes"
    assert table["tetrahedral Ge"] == "0.0 % ± 0.0" and table["homopolar bonds"] == "0.0 % of bonds ± 0.0"
    # a thermal rock-salt crystal: ~6-fold cations, Te short of 6 by the 25 % cation vacancies
    ge, sb, te = (float(table[f"    {s}"]) for s in ("Ge", "Sb", "Te"))
    assert 5.5 < ge <= 6 and 5.5 < sb <= 6 and 4.0 < te < 4.8
    overall = float(table["bonds < 3.2 Å"].split()[-1])
    assert overall == pytest.approx((27 * ge + 54 * sb + 108 * te) / 189, abs=0.006)
    assert table["g(r)"].startswith("first peak at 2.9") or table["g(r)"].startswith("first peak at 3.0")
    assert table["ALTBC"].startswith("peak at (") and table["ALTBC"].endswith("(normalised map)")
    mean, _, std = table["k̄ (rocksalt)"].split(",")[0].split()
    assert 0.95 < float(mean) < 1.02 and float(std) < 0.01  # a crystal at 300 K on the paper's scale (ideal = 1)
    assert 250 < float(table["temperature"].split()[0]) < 350  # Maxwell-Boltzmann velocities at 300 K
    assert table["MSD"].startswith("0.0") and "Å² at 1.6 ps (Ge " in table["MSD"]
    assert table["layers"] == "6 tracked along z, 0 molten at the last frame, no melting front"


def test_format_text_keeps_the_report_layout(tree):
    text = report.format_text(tree)
    lines = text.splitlines()
    assert lines[0] == f"gstorder {gstorder.__version__} report: {EXAMPLE}"
    assert "  atoms          189  (Ge27Sb54Te108)" in lines
    assert "  density        6.354 g/cm³" in lines
    assert "  time           0 to 1.6 ps" in lines
    assert "  tetrahedral Ge 0.0 % ± 0.0" in lines
    assert "  homopolar bonds 0.0 % of bonds ± 0.0" in lines
    assert any(line.startswith("      Ge         ") for line in lines)  # per-species coordination, as before
    assert any(line.startswith("  g(r)           first peak at ") and line.endswith("largest below 3.2 Å)") for line in lines)
    assert any(re.match(r"  k̄ \(rocksalt\)  (0\.9|1\.0)\d\d ± 0\.0\d\d, first frame (0\.9|1\.0)", line) for line in lines)
    assert any(line.startswith("  ALTBC          peak at (") and ", mean long/short 1.0" in line for line in lines)
    assert report.format_text(tree, rows=[("x", "1 Å")]).splitlines()[1] == "  x              1 Å"


def test_partial_trees(frames, groups):
    attrs = run_attrs(frames)
    assert [label for label, _ in report.key_numbers(make_tree({}, attrs))] == ["format", "atoms", "cell", "time", "velocities"]
    only = make_tree({"motifs": groups["motifs"], "msd": groups["msd"]}, attrs)
    labels = [label for label, _ in report.key_numbers(only)]
    assert "tetrahedral Ge" in labels and "MSD" in labels
    assert not {"density", "g(r)", "ALTBC", "k̄ (rocksalt)", "temperature", "layers"} & set(labels)
    bare = xr.DataTree.from_dict({"kbar": groups["kbar"]})  # no run metadata at all
    assert [label for label, _ in report.key_numbers(bare)] == ["k̄ (rocksalt)"]
    assert report.format_text(bare).startswith(f"gstorder {gstorder.__version__} report: ?")


def test_key_numbers_survive_a_netcdf_round_trip(tree, tmp_path):
    tree.to_netcdf(tmp_path / "results.nc")
    with xr.open_datatree(tmp_path / "results.nc") as back:
        assert report.key_numbers(back) == report.key_numbers(tree)


def _peak(text):
    return tuple(float(x) for x in text.split("(")[1].split(")")[0].split(","))


def test_altbc_peak_comes_from_the_normalised_map():
    r = np.array([2.85, 3.15, 3.99])
    raw = np.array([[1.0, 2.0, 1.0], [2.0, 1.0, 1.0], [1.0, 1.0, 5.0]])  # r1² r2² weighting: largest in the corner
    ideal = np.array([[0.2, 0.2, 0.2], [0.2, 0.2, 0.2], [0.2, 0.2, 10.0]])
    ds = xr.Dataset({"altbc": (("r1", "r2"), raw, {"n_collinear": 10, "long_short_ratio": 1.1}),
                     "altbc_normalized": (("r1", "r2"), raw / ideal)}, coords={"r1": r, "r2": r})
    assert dict(report.key_numbers(xr.DataTree.from_dict({"altbc": ds})))["ALTBC"] == \
        "peak at (2.85, 3.15) Å, mean long/short 1.100 (normalised map)"
    raw_only = ds.drop_vars("altbc_normalized")
    assert dict(report.key_numbers(xr.DataTree.from_dict({"altbc": raw_only})))["ALTBC"] == \
        "peak at (3.99, 3.99) Å, mean long/short 1.100 (raw map)"


def test_altbc_of_a_random_structure_peaks_in_the_outer_window_unless_normalised(rng):
    n = 2000  # an ideal gas at the density of amorphous GST (0.031 atoms/Å³): raw P(r1, r2) grows as r1² r2²
    atoms = Atoms(numbers=rng.choice([32, 51, 52], n), cell=np.eye(3) * (n / 0.031) ** (1 / 3), pbc=True)
    atoms.set_scaled_positions(rng.uniform(0, 1, (n, 3)))
    ds = gstorder.altbc(atoms, bin_width=0.25).to_dataset()
    raw = _peak(dict(report.key_numbers(xr.DataTree.from_dict({"altbc": ds})))["ALTBC"])
    assert min(raw) > 3.5 and float(ds.altbc.sel(r1=raw[0], r2=raw[1], method="nearest")) == float(ds.altbc.max())
    ds["altbc_normalized"] = gstorder.altbc(atoms, bin_width=0.25, normalize=True)
    peak = _peak(dict(report.key_numbers(xr.DataTree.from_dict({"altbc": ds})))["ALTBC"])
    assert peak != raw and float(ds.altbc_normalized.sel(r1=peak[0], r2=peak[1], method="nearest")) == float(ds.altbc_normalized.max())


def _pngs(folder):
    return {p.stem for p in Path(folder).glob("*.png")}


def test_write_figures_writes_one_readable_png_per_group(figures):
    folder, written = figures
    assert set(written) == ALL_FIGURES == _pngs(folder)
    for name, path in written.items():
        assert path == folder / f"{name}.png" and path.stat().st_size > 1000
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 200
    assert not list(folder.glob("*.part")) and not list(folder.glob(".gstorder-*"))


def _assert_all_atoms_and_species(ax, ds, total, per_species):
    """A time series figure: the ``all atoms`` line and one line per species, against time."""
    artists.assert_line(ax, "all atoms", ds.time, ds[total])
    for s in ds.species.values:
        artists.assert_line(ax, str(s), ds.time, ds[per_species].sel(species=s))


def test_write_figures_draw_each_groups_values(tree, groups, tmp_path, monkeypatch):
    """The figures hold the numbers of their groups (the PNGs themselves are checked above)."""
    drawn = {}
    monkeypatch.setattr(report, "_save_figure", lambda fig, path: drawn.setdefault(path.stem, fig) and path)
    report.write_figures(tree, tmp_path)
    assert set(drawn) == ALL_FIGURES
    g = groups["rdf"]
    ax = drawn["rdf"].axes[0]
    offset = max(1.0, np.ceil(0.5 * float(g.g.max())))
    for k, pair in enumerate(g.pair.values):
        artists.assert_line(ax, pair, g.r, g.g.sel(pair=pair) + k * offset)
    a = groups["adf"]
    for centre in a.center.values:
        artists.assert_line(drawn["adf"].axes[0], "all centres" if centre == "all" else f"{centre}-centred", a.theta,
                            a.adf.sel(center=centre))
    m = groups["motifs"]
    homopolar = [p for p in m.pair.values if p in ("Ge-Ge", "Ge-Sb", "Sb-Sb", "Te-Te")]
    expect = [100 * float(m.bond_fraction.sel(pair=p).mean()) for p in homopolar]
    expect += [100 * float(m.homopolar_fraction.mean()), 100 * float(m.tetrahedral_fraction.mean())]
    np.testing.assert_allclose(artists.bars(drawn["bond_motifs"].axes[0])[0], expect)
    np.testing.assert_array_equal(artists.mesh(drawn["altbc"].axes[0]), groups["altbc"].altbc_normalized.values.T)
    _assert_all_atoms_and_species(drawn["kbar"].axes[0], groups["kbar"], "kbar_mean", "kbar_species")
    t = groups["temperature"]
    np.testing.assert_array_equal(artists.mesh(drawn["temperature_map"].axes[0]), t.temperature[-1].values.T)
    z = groups["z_profile"]
    panels = [ax for ax in drawn["z_profile"].axes if ax.lines]
    assert len(panels) == z.sizes["species"] == 3
    for ax, s in zip(panels, z.species.values):
        first, last = (z.density.sel(species=s).isel(frame=f) for f in (0, -1))
        lines = list(artists.lines(ax).values())
        np.testing.assert_allclose(lines[0][1], first)
        np.testing.assert_allclose(lines[1][1], last)
        np.testing.assert_allclose(lines[0][0], z[z.attrs.get("axis", "z")])
    layer = groups["layers"]
    order = np.argsort(layer.position.values)
    np.testing.assert_array_equal(artists.mesh(drawn["layers"].axes[0]), layer.retained.values[:, order].T)
    _assert_all_atoms_and_species(drawn["msd"].axes[0], groups["msd"], "msd", "msd_species")
    rho = groups["density"]
    np.testing.assert_allclose(drawn["density"].axes[0].lines[0].get_ydata(), rho.density)


def test_write_figures_skips_absent_and_degenerate_groups(frames, groups, tmp_path):
    with pytest.warns(gstorder.errors.GstorderWarning, match="no pixel with at least min_atoms"):
        empty_map = gstorder.temperature_map(frames)  # 60 x 36 pixels of a 189-atom cell: all NaN
    some = make_tree({"rdf": groups["rdf"], "motifs": groups["motifs"], "temperature": empty_map}, run_attrs(frames))
    assert np.isnan(some["temperature"].temperature).all()
    assert set(report.write_figures(some, tmp_path)) == {"rdf", "bond_motifs"} == _pngs(tmp_path)
    assert "temperature" not in dict(report.key_numbers(some))
    one_frame = make_tree({k: groups[k].isel(frame=[0]) for k in ("kbar", "msd", "density", "layers")}, {})
    assert report.write_figures(one_frame, tmp_path / "single") == {}  # time series of one frame
    assert report.write_figures(xr.DataTree(), tmp_path / "empty") == {}


def test_layers_with_a_melting_front(rng, tmp_path):
    crystal = structures.trigonal("Ge1Sb2Te4", (3, 2, 2), orthogonal=True)  # two septuple blocks per period
    melted = crystal.copy()
    low = crystal.positions[:, 2] < 0.4 * crystal.cell[2, 2]
    positions = melted.positions.copy()
    positions[low, 2] = rng.uniform(0, 0.4 * crystal.cell[2, 2], low.sum())
    melted.positions = positions
    for k, atoms in enumerate((crystal, melted)):
        atoms.info["time_ps"] = 5.0 * k
    tracked = layers.track_layers([crystal, melted])
    tree = xr.DataTree.from_dict({"layers": tracked})
    text = dict(report.key_numbers(tree))["layers"]
    assert f"{tracked.sizes['layer']} tracked along z" in text
    molten = int((tracked.retained.isel(frame=-1) < 0.5).sum())
    assert molten > 0 and f", {molten} molten at the last frame, melting front at " in text
    assert set(report.write_figures(tree, tmp_path)) == {"layers"}


def test_write_html(tree, figures):
    folder, figures = figures
    atoms_file = folder / "atoms.nc"
    page = report.write_html(tree, folder, figures, parameters={"command": "gstorder analyze x.xyz --index ::4"},
                             atoms_file=atoms_file)
    assert page == folder / "report.html"
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    for label, value in report.key_numbers(tree):
        cell = f"{html.escape(label.strip())}</th><td>{html.escape(value)}</td>"
        assert f"<th>{cell}" in text or f'<th class="sub">{cell}' in text
    assert "<td>6.354 g/cm³</td>" in text
    for name, path in figures.items():  # embedded, so the page stands alone
        assert text.count(f'alt="{name}"') == 1
        assert f'<img src="data:image/png;base64,{base64.b64encode(Path(path).read_bytes()).decode()}"' in text
    assert "Fig. 2a" in text and "Fig. 2e" in text and "Fig. 5c" in text
    assert '<a href="results.nc">' in text and '<a href="atoms.nc">' in text
    assert "gstorder analyze x.xyz --index ::4" in text and "retained_threshold" in text
    assert "long_short_ratio" in text  # altbc keeps its parameters on the variable
    assert f"gstorder {gstorder.__version__}" in text
    assert not list(folder.glob(".gstorder-*"))


def test_write_html_escapes_text(frames, groups, tmp_path):
    attrs = {**run_attrs(frames, source="/data/<script>alert(1)</script> & co.xyz")}
    tree = make_tree({"density": groups["density"]}, attrs)
    page = report.write_html(tree, tmp_path, {}, parameters={"note": '"quoted" <b>'})
    text = page.read_text(encoding="utf-8")
    assert "<script>" not in text and "<b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co.xyz" in text and "&quot;quoted&quot; &lt;b&gt;" in text
    assert "<img" not in text and "atoms" not in text.split("<h2>Files</h2>")[1].split("</ul>")[0]
    assert not list(tmp_path.glob(".gstorder-*"))
