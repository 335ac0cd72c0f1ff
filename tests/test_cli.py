"""The command line and the README's main job on the built-in example."""

import re
from pathlib import Path

import pytest

from gstorder import cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "gst124_rocksalt_189at_thermal.extxyz"


def test_readme_main_command_runs_on_the_shipped_example(capsys, tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"<!-- main-command -->\s*```bash\n(.+)\n```", readme).group(1)
    args = command.split("&&")[-1].split()
    assert args[:2] == ["gstorder", "analyze"] and (ROOT / args[2]).is_file() and args[3] == "--out"
    monkeypatch.chdir(tmp_path)
    assert cli.main([args[1], str(ROOT / args[2]), *args[3:]]) == 0
    written = capsys.readouterr().out.split()
    assert written[:2] == [f"{args[4]}/results.nc", f"{args[4]}/report.html"] and len(written) == 18
    assert all((tmp_path / p).stat().st_size > 0 for p in written)


def test_report_prints_the_key_numbers_of_the_example(capsys):
    assert cli.main(["report", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "189  (Ge27Sb54Te108)" in out
    assert "20 frames in file, 20 analysed" in out
    assert "density        6.354 g/cm³" in out
    assert "time           0 to 1.9 ps" in out
    assert "tetrahedral Ge 0.0 %" in out and "homopolar bonds 0.0 %" in out  # a rock-salt crystal at 300 K
    assert re.search(r"g\(r\)           first peak at (2\.9|3\.0)\d Å", out)
    assert re.search(r"k̄ \(rocksalt\)  (0\.9|1\.0)\d\d ± 0\.0\d\d", out)  # a crystal at 300 K: ≈ 1, the paper's scale
    assert re.search(r"ALTBC          peak at \([23]\.\d\d, [23]\.\d\d\) Å, mean long/short 1\.0\d\d", out)


def test_report_options_and_errors(capsys, tmp_path):
    assert cli.main(["report", str(EXAMPLE), "--index", "::5", "--bond-cutoff", "3.4"]) == 0
    assert "4 analysed" in capsys.readouterr().out
    assert cli.main(["report", str(tmp_path / "missing.xyz")]) == 2
    assert "no trajectory file" in capsys.readouterr().err
    bad = tmp_path / "bad.xyz"
    bad.write_text("3\n\nGe 0 0 0\n")
    assert cli.main(["report", str(bad)]) == 2
    assert "file ends after 1 of 3 atom lines" in capsys.readouterr().err


def test_parsers():
    assert cli._index("3") == 3 and cli._index("::2") == slice(None, None, 2) and cli._index("1:9") == slice(1, 9)
    assert cli._species("1=Ge,2=Sb,3=Te") == {1: "Ge", 2: "Sb", 3: "Te"}
    assert cli._species("Ge,Te") == ["Ge", "Te"]
    with pytest.raises(SystemExit):
        cli.main(["--version"])


def test_readme_quick_start_runs_as_written(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    readme = (ROOT / "README.md").read_text()
    code = re.search(r"## Quick start\s*```python\n(.*?)```", readme, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").symlink_to(ROOT / "data")
    namespace = {"__name__": "__main__"}
    exec(compile(code, "README.md", "exec"), namespace)
    assert (tmp_path / "rdf.nc").stat().st_size > 0 and "kbar" in namespace["tree"].children
    plt.close("all")


def test_per_species_coordination_lines_are_the_brute_force_numbers(capsys):
    """The report's Ge/Sb/Te coordination rows equal an independent count (ASE neighbour list) over all frames."""
    import numpy as np
    from ase.io import read
    from ase.neighborlist import neighbor_list

    frames = read(EXAMPLE, ":")
    sums, counts = {}, {}
    for atoms in frames:
        i = neighbor_list("i", atoms, 3.2)
        cn = np.bincount(i, minlength=len(atoms))
        for s in ("Ge", "Sb", "Te"):
            mask = np.array(atoms.get_chemical_symbols()) == s
            sums[s] = sums.get(s, 0) + cn[mask].sum()
            counts[s] = counts.get(s, 0) + mask.sum()
    assert cli.main(["report", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    for s in ("Ge", "Sb", "Te"):
        printed = float(re.search(rf"^\s+{s}\s+(\d+\.\d\d)$", out, flags=re.M).group(1))
        assert printed == pytest.approx(sums[s] / counts[s], abs=0.005)


BAD_FILES = {
    "empty.xyz": b"",
    "nan.xyz": b'2\nLattice="5 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3\nGe 0 0 0\nTe nan 1 1\n',
    "singular.xyz": b'2\nLattice="5 0 0 5 0 0 0 0 5" Properties=species:S:1:pos:R:3\nGe 0 0 0\nTe 1 1 1\n',
    "bytes.xyz": b'2\nLattice="5 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3\nGe 0 0 0\n\xff\xfe 1 1 1\n',
}


@pytest.mark.parametrize("argv", [
    ["report", "empty.xyz"], ["report", "nan.xyz"], ["report", "singular.xyz"], ["report", "bytes.xyz"],
    ["report", "EXAMPLE", "--index", "abc"], ["report", "EXAMPLE", "--index", "100"],
    ["report", "EXAMPLE", "--index", "0:5:0"], ["report", "EXAMPLE", "--index", "1:2:3:4"],
    ["report", "EXAMPLE", "--species", "a=Ge"], ["report", "EXAMPLE", "--bond-cutoff", "-1"],
    ["report", "EXAMPLE", "--bond-cutoff", "nan"], ["analyze", "empty.xyz", "--out", "o"],
    ["analyze", "EXAMPLE", "--index", "5:3", "--out", "o"], ["report", "."],
])
def test_every_failure_exits_2_with_one_line(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name, data in BAD_FILES.items():
        (tmp_path / name).write_bytes(data)
    argv = [str(EXAMPLE) if a == "EXAMPLE" else a for a in argv]
    assert cli.main(argv) == 2
    lines = capsys.readouterr().err.splitlines()  # warnings first (one line each), then the one error line
    assert lines[-1].startswith("gstorder: error: ") and all(line.startswith("gstorder: warning: ") for line in lines[:-1])


def test_an_unexpected_exception_is_one_line_too(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(cli, "report", broken)
    monkeypatch.delenv("GSTORDER_DEBUG", raising=False)
    assert cli.main(["report", str(EXAMPLE)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gstorder: internal error: KeyError") and err.count("\n") == 1
    monkeypatch.setenv("GSTORDER_DEBUG", "1")
    with pytest.raises(KeyError):
        cli.main(["report", str(EXAMPLE)])
