"""Output folders a lab can trust (issue 20): replaced as a whole, never someone else's, --out . works."""

import os

import pytest

import gstorder
from gstorder import _atomic, cli, structures
from gstorder.errors import OutputFolderError

from conftest import EXTDATA, extdata, require, skip_without


def _frames():
    frames = []
    for k in range(3):
        a = structures.rocksalt("GeTe", 2, a=6.0 + 0.01 * k)
        a.info["time_ps"] = float(k)
        frames.append(a)
    return frames


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_second_run_leaves_no_file_of_the_first(tmp_path):
    out = tmp_path / "run"
    gstorder.analyze(_frames(), ["density", "msd"], out=out)
    assert {"density.png", "msd.png", _atomic.MANIFEST} <= set(_files(out))
    gstorder.analyze(_frames(), ["density"], out=out)
    assert "msd.png" not in _files(out) and "density.png" in _files(out)
    listed = (out / _atomic.MANIFEST).read_text().split()
    assert sorted(listed + [_atomic.MANIFEST]) == _files(out)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".gstorder-")]  # no temporary left beside it


def test_a_folder_gstorder_did_not_write_is_refused(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "results.nc").write_text("my own results")
    with pytest.raises(OutputFolderError, match="--force"):
        gstorder.analyze(_frames(), ["density"], out=out)
    assert _files(out) == ["results.nc"] and (out / "results.nc").read_text() == "my own results"
    xyz = tmp_path / "t.extxyz"
    from ase.io import write

    write(xyz, _frames())
    assert cli.main(["analyze", str(xyz), "--density", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and (out / "results.nc").read_text() == "my own results"
    assert cli.main(["analyze", str(xyz), "--density", "--out", str(out), "--force"]) == 0
    assert (out / "results.nc").read_bytes()[:3] == b"\x89HD"  # netCDF-4 (HDF5) now, the user's file replaced


def test_an_empty_folder_and_the_working_folder_work(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    gstorder.analyze(_frames(), ["density"], out=empty)
    assert "results.nc" in _files(empty)
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    gstorder.analyze(_frames(), ["density", "msd"], out=".")
    gstorder.analyze(_frames(), ["density"], out=".")  # the working folder is replaced file by file, under a journal
    assert "msd.png" not in _files(here) and "density.png" in _files(here) and os.getcwd() == str(here)
    gstorder.analyze(_frames(), ["density"], out="relative/out")
    assert (here / "relative" / "out" / "results.nc").exists()


def test_a_failed_run_leaves_the_old_output(tmp_path, monkeypatch):
    out = tmp_path / "run"
    gstorder.analyze(_frames(), ["density"], out=out)
    before = {name: (out / name).read_bytes() for name in _files(out)}

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("gstorder.report.write_html", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        gstorder.analyze(_frames(), ["density", "msd"], out=out)
    assert {name: (out / name).read_bytes() for name in _files(out)} == before


def test_an_interrupted_replacement_is_finished_by_the_next_call(tmp_path):
    """A kill in the middle of the journaled replacement (the fallback) leaves a journal the next call completes."""
    out, new = tmp_path / "run", tmp_path / "new"
    out.mkdir()
    (out / _atomic.MANIFEST).write_text("old.png\n")
    (out / "old.png").write_text("old")
    new.mkdir()
    (new / "results.nc").write_text("new")
    (new / _atomic.MANIFEST).write_text("results.nc\n")
    (out / "old.png").unlink()  # as if killed after the first removal of the journal below
    journal = "remove\told.png\nremove\t" + _atomic.MANIFEST + "\n" + "".join(f"move\t{p}\n" for p in sorted(new.iterdir()))
    (out / ".gstorder-folder.journal").write_text(journal)
    _atomic.recover_folder(out)
    assert _files(out) == [_atomic.MANIFEST, "results.nc"]


def test_the_exchange_replaces_the_folder_in_one_step(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "y").write_text("b")
    if not _atomic._exchange(a, b):
        skip_without("renameat2", "renameat2(RENAME_EXCHANGE) is not available on this system or file system")
    assert _files(a) == ["y"] and _files(b) == ["x"]


def test_per_atom_results_open_in_ovito_and_ase(tmp_path):
    import netCDF4
    import numpy as np
    from ase.io import read

    example = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "gst124_rocksalt_189at_thermal.extxyz"
    out = tmp_path / "run"
    assert cli.main(["analyze", str(example), "--index", "0:3", "--per-atom", "--motifs", "--kbar", "--temperature",
                     "--out", str(out)]) == 0
    dump = out / "atoms.lammpstrj"
    frames = list(gstorder.read_frames(example, index=slice(0, 3)))
    with netCDF4.Dataset(out / "atoms.nc") as data:
        results = {name: np.ma.filled(data[name][:], np.nan).astype(float) for name in ("kbar", "motif", "atom_temperature")}
    back = list(gstorder.read_frames(dump))
    for k, frame in enumerate(back):
        np.testing.assert_allclose(frame.positions, frames[k].positions, atol=1e-6)
        assert frame.time == pytest.approx(frames[k].time)
        for name, values in results.items():
            np.testing.assert_allclose(frame.arrays[name], values[k], atol=1e-6, equal_nan=True)
    read_by_ase = read(dump, index=":", format="lammps-dump-text")
    assert len(read_by_ase) == 3 and read_by_ase[0].get_chemical_symbols() == list(frames[0].symbols)
    ovito_io = require("ovito.io", "ovito")
    pipeline = ovito_io.import_file(str(dump))
    data = pipeline.compute(2)
    np.testing.assert_allclose(np.asarray(data.particles["kbar"]), results["kbar"][2], atol=1e-6)
    np.testing.assert_allclose(np.asarray(data.particles.positions), frames[2].positions, atol=1e-6)


def test_a_nanoparticle_gets_rdf_and_altbc_and_one_frame_no_time_series():
    import numpy as np
    from ase.io import read

    particle = read(extdata("aGST225_AET_asdep_nanoparticle_72419at.extxyz"))
    centre = particle.positions.mean(axis=0)
    core = particle[np.linalg.norm(particle.positions - centre, axis=1) < 18.0]  # a cluster of its inner atoms
    tree = gstorder.analyze(core, "all")
    skipped = ast_literal(tree.attrs["skipped"])
    assert "rdf" in tree.children and "altbc" in tree.children and "rdf" not in skipped and "altbc" not in skipped
    assert "several frames" in skipped["msd"] and "layers" in skipped
    assert "periodic" in skipped["density"] and "velocities" in skipped["temperature"]
    assert np.isfinite(tree["rdf"].g.sel(pair="total").values).any()
    assert "altbc_normalized" not in tree["altbc"]  # no ideal-gas density without a cell
    rows = dict(gstorder.report.key_numbers(tree))
    assert "±" not in rows["tetrahedral Ge"] and "MSD" not in rows


def ast_literal(text):
    import ast

    return ast.literal_eval(text)


def test_layers_are_not_tracked_in_an_amorphous_sample():
    amorphous = list(gstorder.read_frames(extdata("aGeTe_AIMD_300K_216at_400fr.extxyz"), index=slice(0, 3)))
    tree = gstorder.analyze(amorphous, "all")
    skipped = ast_literal(tree.attrs["skipped"])
    assert "no atomic layering" in skipped["layers"] and "layers" not in tree.children
    crystal = list(gstorder.read_frames(__import__("pathlib").Path(__file__).resolve().parents[1] / "data" /
                                        "gst124_rocksalt_189at_thermal.extxyz", index=slice(0, 3)))
    assert "layers" in gstorder.analyze(crystal, "all").children


def test_a_wrong_species_map_warns_once_naming_it(tmp_path):
    from gstorder.errors import GstorderWarning

    crystal = structures.rocksalt("Ge1Sb2Te4", 3, seed=0)
    written = tmp_path / "with_elements.lammpstrj"
    gstorder.io.write_lammps_dump(written, [crystal, crystal])  # types by atomic number: 1 = Ge, 2 = Sb, 3 = Te
    lines = []
    for line in written.read_text().splitlines():  # a dump as LAMMPS writes it: types only, no element column
        words = line.split()
        if line.startswith("ITEM: ATOMS"):
            line = line.replace(" element", "")
        elif len(words) >= 6 and not line.startswith("ITEM"):
            line = " ".join(words[:2] + words[3:])
        lines.append(line)
    dump = tmp_path / "rs.lammpstrj"
    dump.write_text("\n".join(lines) + "\n")
    with pytest.warns(GstorderWarning, match=r"does not look like a Ge-Sb-Te material: density .*homopolar bonds.*"
                                             r"check the species map") as caught:
        gstorder.analyze(dump, ["motifs"], species={1: "Te", 2: "Sb", 3: "Ge"})
    assert len([w for w in caught if "does not look like" in str(w.message)]) == 1
    gstorder.analyze(dump, ["motifs"], species={1: "Ge", 2: "Sb", 3: "Te"})  # silent (warnings are errors in tests)


@pytest.mark.parametrize("name", sorted(p.name for p in EXTDATA.glob("*") if p.suffix in (".extxyz", ".xyz", ".cif"))
                         + ["GeTe_alpha_13824at_altbc_POSCAR"])
def test_no_species_warning_for_real_structures(name):
    from gstorder.species import implausible

    path = extdata(name)
    for frame in gstorder.read_frames(path, index=slice(0, 3)):
        assert len(implausible(frame)) < 2, implausible(frame)


def test_no_species_warning_for_the_builders():
    from gstorder.species import implausible

    examples = [structures.rocksalt("Ge1Sb2Te4", 12, seed=0), structures.rocksalt("Ge2Sb2Te5", (1, 1, 5), seed=1),
                structures.trigonal("Ge1Sb2Te4"), structures.trigonal("Ge2Sb2Te5"), structures.trigonal("Sb2Te3"),
                structures.trigonal("GeTe")]
    examples += list(gstorder.read_frames(__import__("pathlib").Path(__file__).resolve().parents[1] / "data" /
                                          "gst124_rocksalt_189at_thermal.extxyz"))
    for frame in examples:
        assert implausible(frame) == [] or len(implausible(frame)) < 2


def test_cli_messages_speak_cli(tmp_path, capsys):
    example = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "gst124_rocksalt_189at_thermal.extxyz"
    assert cli.main(["report", str(example), "--index", "0:0"]) == 2
    assert capsys.readouterr().err.strip() == "gstorder: error: --index 0:0 selects none of the 20 frames"
    assert cli.main(["analyze", str(example), "--index", "5:2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "5:2" in err and "slice(" not in err
    dump = tmp_path / "t.lammpstrj"
    dump.write_text("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 5\n0 5\n0 5\n"
                    "ITEM: ATOMS id type x y z\n1 1 0 0 0\n")
    assert cli.main(["analyze", str(dump), "--density", "--out", str(tmp_path / "p")]) == 2
    assert "--species 1=Ge,2=Sb,3=Te" in capsys.readouterr().err


def test_ctrl_c_under_workers_is_one_line_and_leaves_no_process(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    example = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "gst124_rocksalt_189at_thermal.extxyz"
    env = {**os.environ, "PYTHONPATH": str(__import__("pathlib").Path(gstorder.__file__).parents[1])}
    p = subprocess.Popen([sys.executable, "-m", "gstorder.cli", "analyze", str(example), "--workers", "2", "--out",
                          str(tmp_path / "o")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), env=env)

    def workers():
        ps = subprocess.run(["ps", "-ww", "-eo", "pid,pgid,args"], capture_output=True, text=True).stdout.splitlines()
        return [line for line in ps[1:] if line.split()[1] == str(p.pid) and "spawn_main" in line]

    deadline = time.time() + 120
    while len(workers()) < 2 and p.poll() is None and time.time() < deadline:
        time.sleep(0.5)
    if p.poll() is not None:
        skip_without("timing", f"the run ended before its workers were up: {p.communicate()[1].decode()[-300:]}")
    while p.poll() is None and time.time() < deadline:  # as a terminal's Ctrl-C, to the whole process group, until
        os.killpg(p.pid, signal.SIGINT)               # it takes (one during the cluster's start is ignored)
        time.sleep(2.0)
    _, err = p.communicate(timeout=120)
    if p.returncode == 0:
        skip_without("timing", "the run ended before the interrupt reached it")
    assert p.returncode == 130
    assert err.decode().strip() == "gstorder: interrupted"
    time.sleep(1.0)
    assert workers() == [] and not (tmp_path / "o").exists()


def test_ctrl_c_while_gstorder_imports_is_one_line():
    import signal
    import subprocess
    import sys
    import time

    entry = __import__("pathlib").Path(gstorder.__file__).parents[1] / "gstorder_cli.py"
    p = subprocess.Popen([sys.executable, str(entry), "--version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(0.8)  # inside the imports of NumPy, Numba, SciPy, xarray, ASE and dask (seconds)
    if p.poll() is not None:
        skip_without("timing", "gstorder imported before the interrupt")
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    if p.returncode == 0:
        skip_without("timing", "gstorder imported before the interrupt")
    assert p.returncode == 130 and err.decode().strip() == "gstorder: interrupted"
