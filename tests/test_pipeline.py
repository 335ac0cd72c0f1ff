"""The one-pass runner, gstorder.analyze on dask, and the 'gstorder analyze' command."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import require

import gstorder
from gstorder import cli, neighbors, structures
from gstorder.errors import InconsistentFramesError, MissingDataError
from gstorder.pipeline import FrameNeighbours, Need

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "gst124_rocksalt_189at_thermal.extxyz"
ALL = ["rdf", "adf", "motifs", "altbc", "kbar", "steinhardt", "clusters", "vacancies", "temperature", "layers", "msd", "density"]


@pytest.fixture(scope="module")
def cluster():
    distributed = require("dask.distributed", "dask-distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as c, distributed.Client(c) as client:
        yield client


def _sorted_pairs(nl):
    keys = np.lexsort((nl.shifts[:, 2], nl.shifts[:, 1], nl.shifts[:, 0], nl.j, nl.i))
    return nl.i[keys], nl.j[keys], nl.shifts[keys], nl.distances[keys]


@pytest.mark.parametrize("need", [Need.of(3.2), Need.of(4.0, centres="Ge"),
                                  Need.of({("Ge", "Te"): 3.3, ("Sb", "Te"): 3.1, ("Te", "Te"): 2.9}),
                                  Need.of(5.5, full=False)])
def test_block_lists_equal_their_own_search(need):
    frame = gstorder.as_frame(structures.rocksalt("Ge1Sb2Te4", 2, seed=3))
    frame.positions[:] += np.random.default_rng(0).normal(0, 0.15, frame.positions.shape)
    centres = None if need.centres is None else np.isin(frame.symbols, need.centres)
    direct = neighbors.build(frame, need.table, centers=centres, full=True)
    shared = FrameNeighbours(frame, [Need.of(6.0), need], block_size=50)
    blocks = [b[need] for b in shared.blocks()]
    assert shared.searches == len(blocks) == -(-len(frame) // 50)
    assert all(b.full for b in blocks)
    got = type(direct)(np.concatenate([b.centers for b in blocks]),
                       np.concatenate([[0]] + [b.offsets[1:] + sum(len(x) for x in blocks[:k]) for k, b in enumerate(blocks)]),
                       *(np.concatenate([getattr(b, a) for b in blocks]) for a in ("i", "j", "distances", "vectors", "shifts")),
                       len(frame), need.reach)
    for a, b in zip(_sorted_pairs(direct), _sorted_pairs(got)):
        np.testing.assert_array_equal(a, b)


def test_each_frame_is_searched_once_for_every_analysis(monkeypatch):
    made = []
    real = neighbors._Grid.query
    monkeypatch.setattr(neighbors._Grid, "query", lambda self, *a, **k: (made.append((self.max_cutoff, k["full"])),
                                                                           real(self, *a, **k))[1])
    gstorder.crystallinity.reference("rocksalt")  # built (and cached) before counting
    monkeypatch.setattr(gstorder.suite, "implausible", lambda frame: [])  # its one small search per run is not a frame's
    made.clear()
    tree = gstorder.analyze(EXAMPLE, ["rdf", "adf", "motifs", "altbc", "kbar"], index=slice(0, 3))
    assert sorted(tree.children) == ["adf", "altbc", "kbar", "motifs", "rdf"]
    # per frame: one full search at SOAP's 5.5 Å (adf, motifs, ALTBC and k̄'s averaging filter it) and one half
    # search at the RDF's 8 Å
    assert made == [(5.5, True), (8.0, False)] * 3
    made.clear()
    gstorder.analyze(EXAMPLE, {"rdf": {"r_max": 4.0}, "motifs": {}, "altbc": {}}, index=slice(0, 3))
    assert made == [(4.0, True)] * 3  # the half RDF list within ALTBC's full 4 Å list is that list filtered


def test_wrappers_equal_the_suite_in_one_pass():
    tree = gstorder.analyze(EXAMPLE, ALL, index=slice(0, 20, 5))
    frames = gstorder.Trajectory(EXAMPLE)[0:20:5]
    xr.testing.assert_allclose(tree["rdf"].to_dataset(), gstorder.rdf(frames), rtol=1e-12)
    xr.testing.assert_allclose(tree["adf"].to_dataset(), gstorder.adf(frames), rtol=1e-12)
    xr.testing.assert_allclose(tree["motifs"].to_dataset(), gstorder.bond_motifs(frames), rtol=1e-12)
    raw = gstorder.altbc(frames)
    np.testing.assert_allclose(tree["altbc"].altbc.values, raw.values, rtol=1e-12)
    np.testing.assert_allclose(tree["altbc"].altbc_normalized.values, gstorder.altbc(frames, normalize=True).values, rtol=1e-12)
    k = gstorder.crystallinity.kbar(frames)
    np.testing.assert_allclose(tree["kbar"].kbar_mean.values, k.kbar_mean.values, rtol=1e-12)
    xr.testing.assert_allclose(tree["msd"].to_dataset(), gstorder.msd(frames))
    xr.testing.assert_allclose(tree["density"].to_dataset(), gstorder.density(frames))
    xr.testing.assert_allclose(tree["steinhardt"].to_dataset(), gstorder.order.steinhardt(frames, per_atom=False))
    xr.testing.assert_identical(tree["clusters"].to_dataset(), gstorder.nucleation.clusters(frames, per_atom=False))
    xr.testing.assert_identical(tree["vacancies"].to_dataset(), gstorder.vacancies.analyse(frames, per_atom=False))
    xr.testing.assert_allclose(tree["z_profile"].to_dataset(), gstorder.layers.z_profile(frames))
    xr.testing.assert_allclose(tree["layers"].to_dataset(), gstorder.layers.track_layers(frames))
    bins = (tree["temperature"].sizes["x"], tree["temperature"].sizes["z"])
    xr.testing.assert_allclose(tree["temperature"].to_dataset(), gstorder.temperature_map(frames, bins=bins))


def test_dask_equals_serial_for_every_analysis(cluster, tmp_path):
    serial = gstorder.analyze(EXAMPLE, ALL, index=slice(0, 20, 2), per_atom=tmp_path / "serial.nc")
    parallel = gstorder.analyze(EXAMPLE, ALL, index=slice(0, 20, 2), client=cluster, chunk_frames=2,
                                per_atom=tmp_path / "dask.nc")
    assert sorted(serial.children) == sorted(parallel.children) == sorted(ALL[:9] + ["z_profile", "layers", "msd", "density"])
    for name in serial.children:
        a, b = serial[name].to_dataset(), parallel[name].to_dataset()
        assert a.attrs == b.attrs
        for var in a.data_vars:
            if np.issubdtype(a[var].dtype, np.integer):
                np.testing.assert_array_equal(a[var].values, b[var].values, err_msg=f"{name}.{var}")
            elif np.issubdtype(a[var].dtype, np.floating):
                np.testing.assert_allclose(a[var].values, b[var].values, rtol=1e-12, atol=1e-15, err_msg=f"{name}.{var}")
    with xr.open_dataset(tmp_path / "serial.nc") as a, xr.open_dataset(tmp_path / "dask.nc") as b:
        assert set(a.data_vars) == {"k", "kbar", "atom_cn", "atom_q", "motif", "atom_temperature", "q4", "q6", "solid",
                                    "solid_bonds", "cluster", "crystalline", "site", "antisite"}
        assert a.kbar.shape == (10, 189)
        xr.testing.assert_allclose(a, b, rtol=1e-12)


def test_dask_equals_serial_for_the_network_and_dynamics_analyses(cluster):
    chosen = {"structure_factor": {"q_max": 6.0}, "rings": {"per_atom": True}, "cavities": {"spacing": 0.3},
              "diffusion": {"fit_range": [0.1, 0.5], "blocks": 2}, "vibrations": {}}
    serial = gstorder.analyze(EXAMPLE, chosen, index=slice(0, 20, 2))
    parallel = gstorder.analyze(EXAMPLE, chosen, index=slice(0, 20, 2), client=cluster, chunk_frames=2)
    assert sorted(serial.children) == sorted(parallel.children) == sorted(chosen)
    for name in chosen:
        a, b = serial[name].to_dataset(), parallel[name].to_dataset()
        assert a.attrs == b.attrs
        xr.testing.assert_allclose(a, b, rtol=1e-12)
    stages = set(chosen) | {"reading frames", "neighbour searches"}  # the workers' clocks come back too
    assert set(_seconds(serial)) == set(_seconds(parallel)) == stages
    windows = gstorder.analyze(EXAMPLE, ["structure_factor", "rings", "cavities"], index=slice(0, 20, 2), window=5)
    assert windows["structure_factor"].S.dims == ("window", "q") and windows["rings"]["count"].sizes["window"] == 2


def _seconds(tree) -> dict:
    import ast

    return ast.literal_eval(tree.attrs["compute_seconds"])


def test_analyze_says_where_the_time_went(monkeypatch):
    """Each analysis' own seconds, the reading and the shared searches, slowest first, and the report's row of them."""
    import time

    from gstorder import report
    from gstorder.network import Rings

    add_block = Rings.add_block

    def slow(self, state, frame, lists):  # inside the search loop: the searches' clock must leave it out
        time.sleep(0.05)
        return add_block(self, state, frame, lists)

    gstorder.analyze(EXAMPLE, ["rdf", "rings", "kbar"], index=0)  # kernels compiled (or loaded) outside the clock
    monkeypatch.setattr(Rings, "add_block", slow)
    start = time.perf_counter()
    tree = gstorder.analyze(EXAMPLE, ["rdf", "rings", "kbar"], index=slice(0, 3))
    elapsed = time.perf_counter() - start
    seconds = _seconds(tree)
    assert list(seconds) == sorted(seconds, key=lambda stage: -seconds[stage])
    assert set(seconds) == {"rdf", "rings", "kbar", "reading frames", "neighbour searches"}
    assert seconds["rings"] >= 0.15 and all(t >= 0 for t in seconds.values())  # three frames, each slept 0.05 s
    assert seconds["neighbour searches"] < 0.5 * seconds["rings"]  # 189 atoms: milliseconds, had the sleep not been left out
    assert sum(seconds.values()) <= elapsed  # parts of one clock, none counted twice
    label, text = report.key_numbers(tree)[-1]
    assert label == "compute time" and text.startswith(f"{sum(seconds.values()) / 3:.3g} s per frame: {next(iter(seconds))} ")
    assert gstorder.analyze(EXAMPLE, ["density"], index=0).attrs["compute_seconds"] != "{}"  # no search: still clocked


def test_dask_on_frames_in_memory_and_sequential_only(cluster):
    frames = gstorder.Trajectory(EXAMPLE)[0:6]
    serial = gstorder.analyze(frames, ["msd"])
    parallel = gstorder.analyze(frames, ["msd"], client=cluster)
    xr.testing.assert_identical(serial["msd"].to_dataset(), parallel["msd"].to_dataset())
    both = gstorder.analyze(frames, ["rdf", "msd"], client=cluster, chunk_frames=1)
    xr.testing.assert_allclose(both["rdf"].to_dataset(), gstorder.analyze(frames, ["rdf"])["rdf"].to_dataset(), rtol=1e-12)


def test_mixed_compositions_are_refused_not_averaged(cluster):
    a = structures.rocksalt("GeTe", 2, a=6.0)
    b = structures.rocksalt("Ge1Sb2Te4", 2, seed=1)
    with pytest.raises(InconsistentFramesError, match="other atoms than the first frame"):
        gstorder.analyze([a, b], ["rdf"])
    c = a.copy()
    c.numbers[0] = 51  # same count, another composition
    with pytest.raises(InconsistentFramesError, match="GeTe.*not averaged|not averaged"):
        gstorder.analyze([a, c], ["rdf"])
    with pytest.raises(InconsistentFramesError):
        gstorder.analyze([a, c], ["rdf"], client=cluster)
    d = a.copy()
    ge = int(np.argmax(d.numbers == 32))
    d.numbers[[0, ge]] = d.numbers[[ge, 0]]  # same formula, but atoms 0 and ge swapped species
    for client in (None, cluster):  # k̄ per atom needs the same atoms: in process and on workers
        with pytest.raises(InconsistentFramesError, match="other atoms than the first frame"):
            gstorder.analyze([a, d], ["kbar"], client=client)


def test_all_skips_what_the_frames_cannot_give_and_named_analyses_insist():
    atoms = structures.rocksalt("GeTe", 3, a=6.0)  # no velocities
    tree = gstorder.analyze(atoms)
    assert "temperature" not in tree.children and "velocities" in tree.attrs["skipped"]
    with pytest.raises(MissingDataError, match="velocities"):
        gstorder.analyze(atoms, ["temperature"])
    with pytest.raises(ValueError, match="unknown analysis 'rfd'"):
        gstorder.analyze(atoms, ["rfd"])
    with pytest.raises(ValueError, match="out= folder"):
        gstorder.analyze(atoms, ["rdf"], per_atom=True)


def test_progress_lines_when_not_on_a_terminal(monkeypatch, capsys):
    from gstorder import _progress

    monkeypatch.setattr(_progress, "LOG_EVERY_S", 0.0)
    gstorder.analyze(EXAMPLE, ["density"], index=slice(0, 3))
    err = capsys.readouterr().err
    assert "gstorder analyze: 1/3 frames" in err and "ETA" in err and "3/3 frames" in err
    frame = next(iter(gstorder.Trajectory(EXAMPLE)))
    gstorder.rdf(frame)  # a single frame's len() counts its atoms, not frames
    err = capsys.readouterr().err
    assert "rdf: 1/1 frames" in err and f"/{len(frame)}" not in err


def test_cli_analyze_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["analyze", str(EXAMPLE), "--index", "0:20:4", "--out", str(out), "--per-atom"]) == 0
    printed = capsys.readouterr().out.split()
    expected = ["results.nc", "report.html", "config.toml", "rdf.png", "structure_factor.png", "adf.png", "bond_motifs.png",
                "altbc.png", "rings.png", "cavities.png", "kbar.png", "steinhardt.png", "nuclei.png", "nucleus_sizes.png",
                "vacancy_planes.png", "temperature_map.png", "z_profile.png", "layers.png", "msd.png", "vibrations.png",
                "density.png", "atoms.nc", "atoms.lammpstrj"]
    assert printed == [str(out / name) for name in expected]
    tree = xr.open_datatree(out / "results.nc")
    assert tree.attrs["n_frames"] == 5 and float(tree["density"].density[0]) == pytest.approx(6.354, abs=1e-3)
    assert np.isfinite(tree["temperature"].temperature.values).all()  # the small model's grid is coarse enough
    html = (out / "report.html").read_text()
    assert html.count("<img") == len([n for n in expected if n.endswith(".png")]) and "gstorder analyze" in html
    with xr.open_dataset(out / "atoms.nc") as atoms:
        assert atoms.kbar.shape == (5, 189)
    assert not list(tmp_path.glob(".gstorder-*"))
    assert cli.main(["analyze", str(EXAMPLE), "--index", "3", "--rdf", "--kbar", "trigonal", "--out", str(out)]) == 0
    assert xr.open_datatree(out / "results.nc").attrs["n_frames"] == 1


@pytest.mark.parametrize("args, message", [
    (["missing.xyz"], "no trajectory file"),
    (["EXAMPLE", "--rdff"], "unrecognized arguments: --rdff"),
    (["EXAMPLE", "--kbar", "nope"], "not a named reference"),
    (["CORRUPT"], "file ends after 1 of 3 atom lines"),
    (["MIXED"], "other atoms than the first frame"),
    (["EXAMPLE", "--index", "abc"], "expected N or start:stop:step"),
    (["EXAMPLE", "--species", "a=Ge"], "expected TYPE=ELEMENT pairs"),
    (["EXAMPLE", "--workers", "0"], "--workers must be a positive integer"),
])
def test_cli_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capfd, args, message):
    corrupt = tmp_path / "bad.xyz"
    corrupt.write_text("3\n\nGe 0 0 0\n")
    mixed = tmp_path / "mixed.xyz"
    from ase.io import write

    write(mixed, [structures.rocksalt("GeTe", 2, a=6.0), structures.rocksalt("GeTe", 1, a=6.0)], format="extxyz")
    table = {"EXAMPLE": str(EXAMPLE), "CORRUPT": str(corrupt), "MIXED": str(mixed), "missing.xyz": str(tmp_path / "missing.xyz")}
    args = [table.get(a, a) for a in args]
    out = tmp_path / "out"
    try:
        code = cli.main(["analyze", *args, "--out", str(out)])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capfd.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".gstorder-*"))


def test_dask_run_from_standard_input_does_not_hang(tmp_path):
    script = textwrap.dedent(f"""
        import gstorder
        tree = gstorder.analyze({str(EXAMPLE)!r}, ["rdf", "kbar"], index=slice(0, 4), workers=2)
        print("kbar", round(float(tree["kbar"].kbar_mean.mean()), 3))
    """)
    done = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "kbar 0.99" in done.stdout


def test_docs_code_blocks_run(tmp_path, monkeypatch):
    """Every code block of docs/analyze.md runs as written (the cluster ones need a cluster: checked for syntax)."""
    import re

    text = (ROOT / "docs" / "analyze.md").read_text()
    blocks = re.findall(r"```(python|bash)\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(ROOT)
    for kind, code in blocks:
        if kind == "python":
            if "SLURMCluster" in code:
                compile(code, "docs/analyze.md", "exec")
                continue
            monkeypatch.chdir(tmp_path)
            exec(compile(code.replace("data/", str(ROOT / "data") + "/"), "docs/analyze.md", "exec"), {"__name__": "__main__"})
            monkeypatch.chdir(ROOT)
        elif "--scheduler" not in code:
            args = code.split()
            assert args[:2] == ["gstorder", "analyze"]
            assert cli.main(args[1:-1] + [str(tmp_path / args[-1])]) == 0


RUNNABLE_DOCS = ["errors.md", "local_structure.md", "io.md", "neighbors.md", "structures.md", "crystallinity.md", "device.md", "md.md",
                 "order.md",
                 "gallery.md", "amorphous.md"]


@pytest.mark.parametrize("name", RUNNABLE_DOCS)
def test_code_blocks_of_the_docs_run_as_written(name, tmp_path, monkeypatch):
    """Every Python block runs from a folder holding the shipped data/; only blocks naming a user's GAP file are skipped."""
    import re

    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").symlink_to(ROOT / "data")
    ran = 0
    for code in re.findall(r"```python\n(.*?)```", (ROOT / "docs" / name).read_text(), flags=re.S):
        if "path/to/" in code:
            continue  # md.gap on the user's own GAP file
        exec(compile(code, f"docs/{name}", "exec"), {"__name__": "__main__"})
        ran += 1
        plt.close("all")
    assert ran >= 1


def test_own_cluster_workers_keep_glibc_malloc_defaults(monkeypatch):
    """dask's MALLOC_TRIM_THRESHOLD_ switches off glibc's adaptive mmap threshold (every big array page-faulted anew)."""
    require("dask.distributed", "dask-distributed")
    from gstorder._dask import local_client

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with local_client(1) as client:
        assert set(client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_")).values()) == {None}
        # dask's other pre-spawn settings (one BLAS/OpenMP thread per worker) stay
        assert set(client.run(lambda: os.environ.get("OMP_NUM_THREADS")).values()) == {"1"}


def test_thread_helpers_cover_every_row_once_in_order_and_raise():
    from gstorder.parallel import over_row_chunks, thread_map

    with gstorder.threads(2):
        seen = np.zeros(1001, dtype=int)

        def add(a, b):
            seen[a:b] += 1

        over_row_chunks(add, len(seen), parallel=True)
        assert (seen == 1).all()
        assert thread_map(lambda x: x * x, range(7), 2) == [x * x for x in range(7)]

        def fail(a, b):
            raise ValueError("from a worker thread")

        with pytest.raises(ValueError, match="from a worker thread"):
            over_row_chunks(fail, 10, parallel=True)
