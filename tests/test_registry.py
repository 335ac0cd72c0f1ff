"""The registry, the config file, --set, selections, windows and per-analysis frames (issue 19)."""

import ast
import importlib
import io
import pkgutil
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import gstorder
from gstorder import cli, config, structures
from gstorder.errors import ArgumentTypeError, ConfigError, GstorderDeprecationWarning
from gstorder.pipeline import Analysis, Part
from gstorder.registry import ANALYSES, Figure, Parameter, register

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "gst124_rocksalt_189at_thermal.extxyz"


def _frames(n=4, seed=0):
    rng = np.random.default_rng(seed)
    base = structures.rocksalt("GeTe", 3, a=6.0)
    out = []
    for k in range(n):
        a = base.copy()
        a.positions += rng.normal(0, 0.15, a.positions.shape)
        a.info["time_ps"] = 0.5 * k
        out.append(a)
    return out


# --------------------------------------------------------------------------- config


def test_default_config_round_trips():
    text = config.default_config()
    run, analyses = config.validate(config.load(text, text=True))
    assert config.to_toml(run, analyses) == text
    for name, entry in ANALYSES.items():  # every parameter with a plain default is written, with its meaning
        assert f"[{name}]" in text
        for p in entry.parameters:
            assert p.name in text
    assert analyses["rdf"]["r_max"] == 8.0 and analyses["kbar"]["reference"] == "rocksalt"


def test_cli_config_prints_the_default_config():
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["config"]) == 0
    assert out.getvalue() == config.default_config()


@pytest.mark.parametrize("text, message", [
    ("[rdff]\nr_max = 6.0", r"unknown table \[rdff\]; did you mean rdf\?"),
    ("[rdf]\nrmax = 6.0", r"unknown key rdf.rmax; did you mean rdf.r_max\?"),
    ("[rdf]\nr_max = 'six'", r"rdf.r_max = \"six\": rdf.r_max must be a real number"),
    ("[rdf]\nr_max = -1.0", r"rdf.r_max must be positive"),
    ("[kbar]\nreference = 'rocksalts'", r"not a named reference"),
    ("[run]\nframes = '1:x'", r"expected N or start:stop:step"),
    ("[run]\nanalyses = ['rdf', 'motif']", r"unknown analysis 'motif'; did you mean motifs\?"),
    ("[temperature]\nbins = [60]", r"bins must be two positive integers"),
    ("[layers]\nkbar = 1", r"can only be set from Python"),
    ("rdf = 1", r"settings go in tables"),
    ("[rdf\n", r"not valid TOML"),
])
def test_bad_config_is_one_clear_error(text, message):
    with pytest.raises(ConfigError, match=message):
        config.validate(config.merge(config.load(text, text=True)))


def test_set_beats_the_file_and_the_file_beats_defaults(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("[rdf]\nr_max = 6.0\nbin_width = 0.05\n[kbar]\nreference = 'trigonal'\n")
    args = cli._parser().parse_args(["analyze", "x.xyz", "--out", "o", "--config", str(path), "--set", "rdf.r_max=5",
                                     "--set", "kbar.reference=rocksalt", "--set", "run.frames=0:4"])
    run, values = cli._settings(args)
    assert values["rdf"] == {"r_max": 5.0, "bin_width": 0.05}
    assert values["kbar"]["reference"] == "rocksalt"
    assert run["frames"] == slice(0, 4)


def test_bad_set_exits_2_before_reading(tmp_path, capsys):
    missing = tmp_path / "missing.xyz"  # never opened: the setting fails first
    assert cli.main(["analyze", str(missing), "--out", str(tmp_path / "o"), "--set", "rdf.rmax=6"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean rdf.r_max?" in err
    assert not (tmp_path / "o").exists()


def test_effective_config_reproduces_the_run(tmp_path):
    out1, out2 = tmp_path / "a", tmp_path / "b"
    assert cli.main(["analyze", str(EXAMPLE), "--out", str(out1), "--rdf", "--motifs", "--index", "0:6",
                     "--set", "rdf.r_max=5.0", "--set", "motifs.cutoff=3.3"]) == 0
    text = (out1 / "config.toml").read_text()
    assert "r_max = 5.0" in text and 'analyses = ["rdf", "motifs"]' in text and 'frames = "0:6"' in text
    assert cli.main(["analyze", str(EXAMPLE), "--out", str(out2), "--config", str(out1 / "config.toml")]) == 0
    first, second = xr.open_datatree(out1 / "results.nc"), xr.open_datatree(out2 / "results.nc")
    assert first.attrs["config"].splitlines()[1:] == second.attrs["config"].splitlines()[1:]
    for group in ("rdf", "motifs"):
        xr.testing.assert_identical(first[group].to_dataset(), second[group].to_dataset())


# --------------------------------------------------------------------------- the declarations


def test_public_functions_take_their_declared_parameters():
    import inspect

    for function, cls in [(gstorder.rdf, gstorder.pairs.RDF), (gstorder.altbc, importlib.import_module("gstorder.altbc").ALTBC),
                          (gstorder.bond_motifs, gstorder.motifs.BondMotifs),
                          (gstorder.crystallinity.kbar, gstorder.crystallinity.KBar)]:
        params = inspect.signature(function).parameters
        for p in cls.parameters:
            assert params[p.name].default == p.default
            assert p.name in function.__doc__
        assert {"index", "select", "window"} <= set(params)


def test_unknown_keyword_names_the_closest():
    with pytest.raises(ArgumentTypeError, match="did you mean r_max"):
        gstorder.rdf(_frames(1), rmax=4.0)


def test_deprecated_spelling_warns_and_works():
    frames = _frames(1)
    with pytest.warns(GstorderDeprecationWarning, match="normalise is deprecated; spell it normalize"):
        old = gstorder.altbc(frames, normalise=True)
    xr.testing.assert_identical(old, gstorder.altbc(frames, normalize=True))


class Toy(Analysis):
    """Number of atoms per frame times a factor: an analysis declared in one place."""

    name = "toy"
    summary = "atoms per frame times a factor"
    parameters = (Parameter("factor", 2.0, "the factor", "", lambda name, v: float(v)),)
    figures = ()

    def end_frame(self, state, frame):
        return Part(len(frame) * self.factor)

    def result(self, parts, times):
        return xr.Dataset({"scaled": ("frame", np.array([p.data for p in parts]), {"units": ""})},
                          coords={"time": ("frame", times)}, attrs={"factor": self.factor})

    @staticmethod
    def rows(ds, tree):
        return [("toy", f"{float(ds.scaled.values[0]):g} scaled atoms")]


def _toy_figure(ds):
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure()
    fig.subplots().plot(ds.scaled.values)
    return fig


Toy.figures = (Figure("toy", _toy_figure, "The toy analysis."),)


@pytest.fixture
def toy():
    register(Toy)
    yield Toy
    del ANALYSES["toy"]


def test_a_registered_analysis_is_everywhere(toy, tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["analyze", "--help"])
    assert "toy.factor" in capsys.readouterr().out
    assert "[toy]" in config.default_config()
    out = tmp_path / "run"
    assert cli.main(["analyze", str(EXAMPLE), "--out", str(out), "--toy", "--set", "toy.factor=3", "--index", "0:2"]) == 0
    tree = xr.open_datatree(out / "results.nc")
    assert tree["toy"].scaled.values.tolist() == [567.0, 567.0]
    html = (out / "report.html").read_text()
    assert "567 scaled atoms" in html and "The toy analysis." in html and (out / "toy.png").exists()


# --------------------------------------------------------------------------- selections, windows, frames


def test_select_species_equals_masking_by_hand():
    frames = _frames(2)
    full = gstorder.bond_motifs(frames, per_atom=True)
    mine = gstorder.bond_motifs(frames, select="Ge")
    ge = full.symbol.values == "Ge" if "symbol" in full.coords else np.array(frames[0].get_chemical_symbols()) == "Ge"
    by_hand = full.atom_cn.values[:, ge].mean(axis=1)
    np.testing.assert_allclose(mine.coordination.sel(species="Ge").values, by_hand)
    assert np.isnan(mine.coordination.sel(species="Te").values).all()


def test_select_region_equals_masking_by_hand():
    frames = _frames(3)
    region = {"region": "sphere", "centre": [9.0, 9.0, 9.0], "radius": 5.0}
    inside = [np.linalg.norm(f.positions - 9.0, axis=1) < 5.0 for f in frames]  # the sphere sits inside the cell
    full = gstorder.crystallinity.kbar(frames, reference="rocksalt")
    mine = gstorder.crystallinity.kbar(frames, reference="rocksalt", select=region)
    by_hand = [full.kbar.values[k][inside[k]].mean() for k in range(3)]
    np.testing.assert_allclose(mine.kbar_mean.values, by_hand, rtol=1e-12)
    moved = gstorder.msd(frames, select=region)
    d = np.array([((f.positions - frames[0].positions)[inside[0]] ** 2).sum(axis=1).mean() for f in frames])
    np.testing.assert_allclose(moved.msd.values, d, rtol=1e-10)


def test_select_rdf_counts_neighbours_of_the_selected_centres():
    frames = structures.rocksalt("GeTe", 3, a=6.0)
    ds = gstorder.rdf(frames, r_max=4.0, bin_width=0.1, select="Ge")
    # rock-salt GeTe: 6 Te within 4 Å of every Ge, no Ge (next Ge at 4.24 Å)
    assert float(ds.coordination.sel(center="Ge", neighbor="Te").isel(r=-1)) == pytest.approx(6.0)
    assert float(ds.coordination.sel(center="Ge", neighbor="Ge").isel(r=-1)) == 0.0
    assert "Te-Ge" in ds.pair.values


def test_window_equals_separate_runs():
    frames = _frames(6)
    windowed = gstorder.rdf(frames, r_max=5.0, window=2)
    assert windowed.sizes["window"] == 3 and windowed.window_frames.values.tolist() == [2, 2, 2]
    for w in range(3):
        alone = gstorder.rdf(frames[2 * w : 2 * w + 2], r_max=5.0)
        np.testing.assert_allclose(windowed.g.isel(window=w).values, alone.g.values, equal_nan=True)
    by_time = gstorder.rdf(frames, r_max=5.0, window=1.0)  # frames every 0.5 ps: two per ps
    np.testing.assert_allclose(by_time.g.values, windowed.g.values, equal_nan=True)
    motifs = gstorder.bond_motifs(frames, window=3)
    alone = gstorder.bond_motifs(frames[3:])
    np.testing.assert_allclose(motifs.coordination.isel(window=1).values, alone.coordination.mean("frame").values)


def test_per_analysis_frames():
    frames = _frames(4)
    tree = gstorder.analyze(frames, {"rdf": {"r_max": 5.0, "frames": slice(2, None)}, "density": {}})
    alone = gstorder.rdf(frames[2:], r_max=5.0)
    np.testing.assert_allclose(tree["rdf"].g.values, alone.g.values, equal_nan=True)
    assert tree["density"].sizes["frame"] == 4


def test_analyze_select_applies_to_analyses_that_take_it():
    frames = _frames(2)
    tree = gstorder.analyze(frames, ["motifs", "density"], select="Ge")
    assert np.isnan(tree["motifs"].coordination.sel(species="Te").values).all()
    assert tree["density"].sizes["frame"] == 2
    with pytest.raises(gstorder.errors.InvalidArgumentError, match="density does not take select"):
        gstorder.density(frames, select="Ge")


# --------------------------------------------------------------------------- the house


def _module_imports(module_name):
    """gstorder modules imported at module level (not inside functions) by ``module_name``."""
    spec = importlib.util.find_spec(module_name)
    tree = ast.parse(Path(spec.origin).read_text())
    package = module_name if spec.submodule_search_locations else module_name.rpartition(".")[0]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) if node.level else node.module
            if base and base.startswith("gstorder"):
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    found.add(full if importlib.util.find_spec(base) and _is_module(full) else base)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("gstorder"))
    return found - {module_name}


def _is_module(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def test_no_import_cycles():
    names = ["gstorder"] + [m.name for m in pkgutil.walk_packages(gstorder.__path__, "gstorder.")]
    graph = {name: _module_imports(name) for name in names}
    # modules a package's __init__ imports are its children, not a cycle through the package itself
    for name, deps in graph.items():
        graph[name] = {d for d in deps if not name.startswith(d + ".") and d != name}
    state, cycles = {}, []

    def visit(node, path):
        state[node] = "open"
        for dep in graph.get(node, ()):
            if state.get(dep) == "open":
                cycles.append(path[path.index(dep):] + [dep] if dep in path else path + [dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = "done"

    for name in names:
        if name not in state:
            visit(name, [name])
    assert not cycles, f"import cycles: {cycles}"


def test_local_workers_are_bounded(tmp_path, capsys):
    from gstorder._dask import MAX_LOCAL_WORKERS

    with pytest.raises(gstorder.errors.InvalidArgumentError, match=f"at most {MAX_LOCAL_WORKERS} worker processes"):
        gstorder.rdf(_frames(1), workers=MAX_LOCAL_WORKERS + 1)
    assert cli.main(["analyze", str(EXAMPLE), "--out", str(tmp_path / "o"), "--workers", "10000"]) == 2
    assert "at most" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_the_five_looping_functions_run_through_the_runner(monkeypatch):
    """soap, atom_temperatures, radial_temperature, z_coordinates and movie read their frames through the one loop."""
    import gstorder.pipeline as pipeline

    seen = []
    original = pipeline.analyse_frames

    def spy(plan, numbered, *rest):
        seen.append([a.name for a in plan.analyses])
        yield from original(plan, numbered, *rest)

    monkeypatch.setattr(pipeline, "analyse_frames", spy)
    frames = _frames(2)
    for f in frames:
        f.set_velocities(np.full((len(f), 3), 0.01))
    gstorder.crystallinity.soap(frames, species=["Ge", "Te"])
    gstorder.thermal.atom_temperatures(frames)
    gstorder.thermal.radial_temperature(frames, centre=[9.0, 9.0, 9.0], r_max=8.0, bin_width=2.0)
    gstorder.layers.z_coordinates(frames)
    assert seen == [["soap"], ["atom_temperatures"], ["radial_temperature"], ["z_coordinates"]]


def test_a_windowed_run_writes_its_report(tmp_path):
    out = tmp_path / "w"
    assert cli.main(["analyze", str(EXAMPLE), "--out", str(out), "--window", "5", "--rdf", "--motifs", "--layers"]) == 0
    tree = xr.open_datatree(out / "results.nc")
    assert tree["rdf"].sizes["window"] == 4 and tree["z_profile"].sizes["window"] == 4
    assert (out / "rdf.png").exists() and (out / "z_profile.png").exists()
