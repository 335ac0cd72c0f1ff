"""Trajectory readers: round trips through ASE's writers, hand-made LAMMPS dumps, real files, bad files."""

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase import io as aseio
from ase.build import bulk
from conftest import extdata, random_atoms

import gstorder
from gstorder import Trajectory, read_frames
from gstorder.errors import GstorderWarning, MissingDataError, TrajectoryFormatError, UnknownFormatError
from gstorder.frames import ASE_VELOCITY_TO_A_PER_PS


def md_frames(rng, n_frames=4, n_atoms=12, pbc=True):
    frames = []
    for k in range(n_frames):
        atoms = random_atoms(rng, n_atoms, pbc=pbc)
        atoms.set_velocities(rng.normal(0, 0.01, (n_atoms, 3)))
        atoms.info["time_ps"] = 0.002 * k
        frames.append(atoms)
    return frames


def test_extxyz_round_trip_through_ase_writer(tmp_path, rng):
    frames = md_frames(rng)
    frames[1].pbc = [True, False, True]
    path = tmp_path / "run.xyz"
    aseio.write(path, frames, format="extxyz")
    got = list(read_frames(path))
    assert len(got) == len(frames)
    for frame, atoms in zip(got, frames):
        np.testing.assert_allclose(frame.positions, atoms.positions, atol=1e-7)
        np.testing.assert_allclose(frame.cell, atoms.cell.array, atol=1e-7)
        np.testing.assert_array_equal(frame.pbc, atoms.pbc)
        np.testing.assert_array_equal(frame.numbers, atoms.numbers)
        np.testing.assert_allclose(frame.velocities, atoms.get_velocities() * ASE_VELOCITY_TO_A_PER_PS, rtol=1e-6)
        assert frame.time == pytest.approx(atoms.info["time_ps"])
    assert got[2].info["frame_index"] == 2 and got[2].info["file"] == str(path)


def test_extxyz_libatoms_velo_is_angstrom_per_fs_and_time_in_fs(tmp_path):
    path = tmp_path / "quip.xyz"
    path.write_text(
        '2\nLattice="5 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3:velo:R:3:mass:R:1:fixed:L:1 Time=40.0 '
        'energy=-1.5 pbc="T T T"\n'
        "Ge 0 0 0 0.01 0 0 72.6 T\nTe 1 2 3 0 -0.02 0 127.6 F\n"
    )
    (frame,) = read_frames(path)
    np.testing.assert_allclose(frame.velocities, [[10, 0, 0], [0, -20, 0]])
    np.testing.assert_allclose(frame.masses, [72.6, 127.6])
    assert frame.time == pytest.approx(0.04)
    assert frame.info["energy"] == -1.5
    np.testing.assert_array_equal(frame.arrays["fixed"], [True, False])


def test_plain_xyz_is_a_non_periodic_cluster(tmp_path):
    path = tmp_path / "cluster.xyz"
    path.write_text("3\nno keys here\nGe 0 0 0\nSb 2.9 0 0\nTe 0 3 0\n")
    (frame,) = read_frames(path)
    assert not frame.pbc.any() and not frame.cell.any()
    assert frame.symbols.tolist() == ["Ge", "Sb", "Te"]


def test_trajectory_random_access_and_slices(tmp_path, rng):
    frames = md_frames(rng, n_frames=7)
    path = tmp_path / "run.extxyz"
    aseio.write(path, frames)
    traj = Trajectory(path)
    assert len(traj) == 7
    np.testing.assert_allclose(traj[-1].positions, frames[-1].positions, atol=1e-7)
    np.testing.assert_allclose(traj[3].positions, frames[3].positions, atol=1e-7)
    assert [f.info["frame_index"] for f in traj[1:6:2]] == [1, 3, 5]
    assert [f.info["frame_index"] for f in read_frames(path, index=slice(-3, None))] == [4, 5, 6]
    assert [f.info["frame_index"] for f in read_frames(path, index=-2)] == [5]
    assert [f.info["frame_index"] for f in gstorder.iter_frames(path, index=slice(0, 7, 3))] == [0, 3, 6]
    with pytest.raises(IndexError, match="out of range for 7 frames"):
        traj[7]


def test_streaming_does_not_parse_skipped_frames(tmp_path, rng):
    frames = md_frames(rng, n_frames=3)
    path = tmp_path / "run.xyz"
    aseio.write(path, frames)
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(lines[2].split()[1], "garbage", 1)  # corrupt frame 0's first atom
    path.write_text("\n".join(lines) + "\n")
    assert len(list(read_frames(path, index=slice(1, None)))) == 2
    with pytest.raises(TrajectoryFormatError, match=r"frame 0, line 3: cannot read pos"):
        list(read_frames(path))


@pytest.mark.parametrize("fmt, name", [("traj", "run.traj"), ("vasp-xdatcar", "XDATCAR")])
def test_round_trip_traj_and_xdatcar(tmp_path, rng, fmt, name):
    frames = md_frames(rng, n_frames=3)
    frames = [f[np.argsort(f.numbers, kind="stable")] for f in frames]  # VASP groups species
    for f in frames[1:]:
        f.set_cell(frames[0].cell, scale_atoms=False)
    path = tmp_path / name
    aseio.write(path, frames, format=fmt)
    got = list(read_frames(path))
    assert len(got) == 3
    for frame, atoms in zip(got, frames):
        np.testing.assert_array_equal(frame.numbers, atoms.numbers)
        np.testing.assert_allclose(frame.cell, atoms.cell.array, atol=1e-6)
        # XDATCAR stores wrapped fractional coordinates: compare modulo the cell
        diff = (frame.positions - atoms.positions) @ np.linalg.inv(atoms.cell.array)
        np.testing.assert_allclose(diff - np.round(diff), 0, atol=1e-6)
    assert got[1].velocities is not None if fmt == "traj" else got[1].velocities is None


def test_variable_cell_xdatcar(tmp_path):
    cells = [5.0, 5.2]
    text = ""
    for k, a in enumerate(cells):
        text += f"npt\n1.0\n{a} 0 0\n0 {a} 0\n0 0 {a}\nGe Te\n1 1\nDirect configuration= {k + 1}\n0 0 0\n0.5 0.5 0.5\n"
    path = tmp_path / "XDATCAR"
    path.write_text(text)
    traj = Trajectory(path)
    assert len(traj) == 2
    np.testing.assert_allclose(traj[1].positions[1], [2.6, 2.6, 2.6])
    np.testing.assert_allclose(traj[0].positions[1], [2.5, 2.5, 2.5])


@pytest.mark.parametrize("fmt, name", [("vasp", "POSCAR"), ("cif", "x.cif")])
def test_single_structures_poscar_and_cif(tmp_path, fmt, name):
    atoms = bulk("GeTe", "rocksalt", a=6.0)  # two atoms
    path = tmp_path / name
    aseio.write(path, atoms, format=fmt)
    (frame,) = read_frames(path)
    assert sorted(frame.symbols.tolist()) == ["Ge", "Te"]
    np.testing.assert_allclose(abs(np.linalg.det(frame.cell)), atoms.get_volume(), rtol=1e-6)


def write_dump(path, frames, columns, *, triclinic=False, types=None, time=False, shuffle=None, image=None):
    """Write a LAMMPS text dump by hand, following LAMMPS' conventions."""
    out = []
    for k, atoms in enumerate(frames):
        cell = atoms.cell.array
        out += ["ITEM: TIMESTEP", str(100 * k)]
        if time:
            out += ["ITEM: TIME", f"{0.2 * k}"]
        out += ["ITEM: NUMBER OF ATOMS", str(len(atoms))]
        xlo, ylo, zlo = -1.0, 2.0, 0.5
        xhi, yhi, zhi = xlo + cell[0, 0], ylo + cell[1, 1], zlo + cell[2, 2]
        if triclinic:
            xy, xz, yz = cell[1, 0], cell[2, 0], cell[2, 1]
            out.append("ITEM: BOX BOUNDS xy xz yz pp pp pp")
            out.append(f"{xlo + min(0, xy, xz, xy + xz)} {xhi + max(0, xy, xz, xy + xz)} {xy}")
            out.append(f"{ylo + min(0, yz)} {yhi + max(0, yz)} {xz}")
            out.append(f"{zlo} {zhi} {yz}")
        else:
            out += ["ITEM: BOX BOUNDS pp pp pp", f"{xlo} {xhi}", f"{ylo} {yhi}", f"{zlo} {zhi}"]
        out.append("ITEM: ATOMS " + " ".join(columns))
        origin = np.array([xlo, ylo, zlo])
        pos = atoms.positions + origin
        scaled = atoms.get_scaled_positions(wrap=False)
        vel = atoms.get_velocities() * ASE_VELOCITY_TO_A_PER_PS
        order = np.arange(len(atoms)) if shuffle is None else shuffle
        for a in order:
            row = {
                "id": a + 1, "type": types[atoms.numbers[a]] if types else 1, "element": atoms.get_chemical_symbols()[a],
                "x": pos[a, 0], "y": pos[a, 1], "z": pos[a, 2], "xu": pos[a, 0], "yu": pos[a, 1], "zu": pos[a, 2],
                "xs": scaled[a, 0], "ys": scaled[a, 1], "zs": scaled[a, 2],
                "vx": vel[a, 0], "vy": vel[a, 1], "vz": vel[a, 2], "c_pe": -3.5,
                "ix": 0 if image is None else image[a, 0], "iy": 0 if image is None else image[a, 1],
                "iz": 0 if image is None else image[a, 2],
            }
            out.append(" ".join(f"{row[c]:.10g}" if isinstance(row[c], float) else str(row[c]) for c in columns))
    path.write_text("\n".join(out) + "\n")


@pytest.mark.parametrize("triclinic", [False, True])
@pytest.mark.parametrize("columns", [["id", "type", "x", "y", "z", "vx", "vy", "vz"], ["id", "type", "xs", "ys", "zs", "c_pe"],
                                     ["id", "element", "x", "y", "z", "ix", "iy", "iz"], ["id", "element", "xu", "yu", "zu", "ix", "iy", "iz"]])
def test_lammps_dump_variants(tmp_path, rng, triclinic, columns):
    frames = md_frames(rng, n_frames=3, n_atoms=10)
    if not triclinic:
        for f in frames:
            f.set_cell(np.diag(f.cell.lengths()), scale_atoms=True)
    types = {32: 1, 51: 2, 52: 3}
    image = rng.integers(-2, 3, (10, 3))
    path = tmp_path / "run.lammpstrj"
    write_dump(path, frames, columns, triclinic=triclinic, types=types, shuffle=rng.permutation(10), image=image)
    got = list(read_frames(path, species={1: "Ge", 2: "Sb", 3: "Te"}, timestep_fs=2.0))
    assert len(got) == 3
    for k, (frame, atoms) in enumerate(zip(got, frames)):
        np.testing.assert_array_equal(frame.numbers, atoms.numbers)  # sorted back by id
        np.testing.assert_allclose(frame.cell, atoms.cell.array, atol=1e-8)
        np.testing.assert_allclose(frame.positions, atoms.positions, atol=1e-7)
        assert frame.info["step"] == 100 * k and frame.time == pytest.approx(0.2 * k)
        if "vx" in columns:
            np.testing.assert_allclose(frame.velocities, atoms.get_velocities() * ASE_VELOCITY_TO_A_PER_PS, rtol=1e-8)
        else:
            assert frame.velocities is None
        if "ix" in columns and "xu" not in columns:
            np.testing.assert_array_equal(frame.arrays["image"], image)
        elif "ix" in columns:  # unwrapped positions: their flags are already applied, never twice
            assert "image" not in frame.arrays
        if "c_pe" in columns:
            np.testing.assert_allclose(frame.arrays["c_pe"], -3.5)


def test_lammps_dump_agrees_with_ase_reader(tmp_path, rng):
    frames = md_frames(rng, n_frames=2, n_atoms=8)
    path = tmp_path / "dump.atom"
    write_dump(path, frames, ["id", "type", "x", "y", "z", "vx", "vy", "vz"], triclinic=True, types={32: 1, 51: 2, 52: 3}, time=True)
    ref = aseio.read(path, index=":", format="lammps-dump-text")
    got = list(read_frames(path, species=["Ge", "Sb", "Te"]))
    for frame, atoms in zip(got, ref):
        np.testing.assert_allclose(frame.cell, atoms.cell.array, atol=1e-8)
        # ASE keeps the box origin in the positions; gstorder moves the origin to 0
        np.testing.assert_allclose(frame.positions + frame.info["origin"], atoms.positions, atol=1e-7)
    assert got[1].time == pytest.approx(0.2)  # ITEM: TIME, ps in metal units


def test_lammps_dump_without_species_map_is_refused(tmp_path, rng):
    path = tmp_path / "run.dump"
    write_dump(path, md_frames(rng, 1), ["id", "type", "x", "y", "z"], types={32: 1, 51: 2, 52: 3})
    with pytest.raises(MissingDataError, match=r"LAMMPS types \[1, 2, 3\] have no element; pass species="):
        list(read_frames(path))


def test_truncated_files_name_file_frame_and_line(tmp_path, rng):
    frames = md_frames(rng, n_frames=3, n_atoms=5)
    path = tmp_path / "run.xyz"
    aseio.write(path, frames)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-2]) + "\n")  # last frame loses two atoms
    with pytest.raises(TrajectoryFormatError, match=rf"run.xyz: frame 2, line {len(lines) - 1}: file ends after 3 of 5 atom lines"):
        list(read_frames(path))
    with pytest.raises(TrajectoryFormatError, match="frame 2"):
        len(Trajectory(path))

    dump = tmp_path / "run.lammpstrj"
    write_dump(dump, frames, ["id", "element", "x", "y", "z"])
    text = dump.read_text().splitlines()
    dump.write_text("\n".join(text[:-1]) + "\n")
    with pytest.raises(TrajectoryFormatError, match="frame 2, line .*: file ends after 4 of 5 atom lines"):
        list(read_frames(dump))
    dump.write_text("\n".join(text[:20]) + "\n")  # frame 1 (lines 15-28) cut after its first box row
    with pytest.raises(TrajectoryFormatError, match="frame 1, line 21: file ends inside BOX BOUNDS"):
        list(read_frames(dump))


def test_corrupt_and_inconsistent_extxyz(tmp_path):
    path = tmp_path / "bad.xyz"
    path.write_text('2\nLattice="5 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3\nGe 0 0 0\nTe 1 2\n')
    with pytest.raises(TrajectoryFormatError, match=r"frame 0, line 4: expected 4 columns, found 3"):
        list(read_frames(path))
    path.write_text('1\nLattice="5 0 0 0 5 0" Properties=species:S:1:pos:R:3\nGe 0 0 0\n')
    with pytest.raises(TrajectoryFormatError, match="line 2: Lattice must hold 9 numbers"):
        list(read_frames(path))
    path.write_text("two\ncomment\n")
    with pytest.raises(TrajectoryFormatError, match="frame 0, line 1: expected the number of atoms"):
        list(read_frames(path))
    path.write_text("1\nProperties=species:S:1:pos:R:3\nQq 0 0 0\n")
    with pytest.raises(TrajectoryFormatError, match="line 3: unknown chemical species 'Qq'"):
        list(read_frames(path))


def test_unknown_format_and_missing_file(tmp_path):
    odd = tmp_path / "data.raw"
    odd.write_bytes(b"\x00\x01garbage")
    with pytest.raises(UnknownFormatError, match="pass format="):
        Trajectory(odd)
    garbage = tmp_path / "data.bin"  # .bin is a LAMMPS binary dump: garbage in one is a format error
    garbage.write_bytes(b"\x00\x01garbage")
    with pytest.raises(TrajectoryFormatError, match="not a LAMMPS binary dump"):
        len(Trajectory(garbage))
    with pytest.raises(UnknownFormatError, match="choose one of"):
        Trajectory(odd, format="pdb")
    with pytest.raises(FileNotFoundError):
        Trajectory(tmp_path / "nope.xyz")


def test_frames_from_atoms_and_lists(rng):
    atoms = md_frames(rng, 3)
    frames = list(gstorder.iter_frames(atoms))
    assert len(frames) == 3 and frames[1].time == pytest.approx(0.002)
    assert len(list(gstorder.iter_frames(atoms[0]))) == 1
    assert [len(f) for f in gstorder.iter_frames(iter(atoms), index=slice(1, None))] == [12, 12]
    back = frames[0].to_atoms()
    np.testing.assert_allclose(back.get_velocities(), atoms[0].get_velocities())
    with pytest.raises(MissingDataError, match="no velocities"):
        gstorder.as_frame(Atoms("Ge")).require_velocities()
    with pytest.raises(MissingDataError, match="cell vector"):
        gstorder.Frame(positions=[[0, 0, 0]], numbers=[32], pbc=True)


# ------------------------------------------------------------------ real files made by others


def test_real_ab_initio_amorphous_gete():
    path = extdata("aGeTe_AIMD_300K_216at_400fr.extxyz")
    traj = Trajectory(path)
    assert len(traj) == 400
    frame = traj[123]
    assert len(frame) == 216 and frame.formula == "Ge108Te108"
    assert frame.arrays["forces"].shape == (216, 3)
    np.testing.assert_allclose(frame.cell, np.eye(3) * 18.582000732421875)
    ref = aseio.read(path, index=123)
    np.testing.assert_allclose(frame.positions, ref.positions)


def test_real_variable_cell_nep_trajectory_and_poscar_and_cifs():
    traj = Trajectory(extdata("GeTe_Ge91Te101_NEPMD_300K_30fr.xyz"))
    cells = np.array([f.cell for f in traj])
    assert cells.shape == (30, 3, 3) and np.ptp(cells[:, 0, 0]) > 0  # NPT: the cell changes
    poscar = next(read_frames(extdata("GeTe_alpha_13824at_altbc_POSCAR")))
    assert len(poscar) == 13824 and poscar.formula == "Ge6912Te6912"
    sb2te3 = next(read_frames(extdata("Sb2Te3_mp-1201.cif")))
    assert sb2te3.formula == "Sb6Te9"  # oxidation-state labels Sb3+ / Te2- read as elements


def test_real_nanoparticle_is_a_non_periodic_cluster():
    frame = next(read_frames(extdata("aGST225_AET_asdep_nanoparticle_72419at.extxyz")))
    assert len(frame) == 72419 and not frame.pbc.any()
    assert frame.formula == "Ge17034Sb14060Te41325"
    nl = gstorder.neighbors.build(frame, 3.4)
    assert 2.0 < nl.coordination.mean() < 6.0


def test_lammps_groups_give_dumps_their_fixed_and_heater_tags(tmp_path):
    """A deck's groups.lmp read back: fixed atoms (v = 0 in the dump) leave the temperature map, as in ASE runs."""
    from gstorder import md, structures, temperature_map
    from gstorder.io import read_groups

    atoms = structures.mushroom_cell(size=(8, 2, 6), heater_radius=8.0)
    n = len(atoms)
    md.lammps_deck("anneal", atoms, "unused.xml", tmp_path, pair_style=("lj/cut 6.0", "* * 0.05 2.7"))
    groups = read_groups(tmp_path / "groups.lmp")
    assert set(groups) >= {"fixed", "heater"} and groups["fixed"].tolist() == (np.flatnonzero(atoms.arrays["fixed"]) + 1).tolist()
    rng = np.random.default_rng(0)
    v = rng.normal(0, 3.0, (n, 3))
    v[atoms.arrays["fixed"]] = 0.0  # what LAMMPS dumps for frozen atoms
    order = rng.permutation(n)  # LAMMPS writes atoms in any order
    lines = ["ITEM: TIMESTEP", "0", "ITEM: NUMBER OF ATOMS", str(n), "ITEM: BOX BOUNDS pp pp pp"]
    lines += [f"0 {x}" for x in atoms.cell.lengths()]
    lines.append("ITEM: ATOMS id type x y z vx vy vz")
    types = {"Ge": 1, "Sb": 2, "Te": 3}
    for i in order:
        p, s = atoms.positions[i], atoms.get_chemical_symbols()[i]
        lines.append(f"{i + 1} {types[s]} {p[0]} {p[1]} {p[2]} {v[i, 0]} {v[i, 1]} {v[i, 2]}")
    dump = tmp_path / "dump.lammpstrj"
    dump.write_text("\n".join(lines) + "\n")
    frame = next(gstorder.read_frames(dump, species=["Ge", "Sb", "Te"], groups=tmp_path / "groups.lmp"))
    np.testing.assert_array_equal(frame.arrays["fixed"], atoms.arrays["fixed"])
    np.testing.assert_array_equal(frame.arrays["heater"], atoms.arrays["heater"])
    tagged = temperature_map(frame, bins=(4, 6), sigma_nm=None)
    with pytest.warns(gstorder.errors.GstorderWarning, match=r"no 'fixed' array; exclude='fixed' leaves out the 224 atoms"):
        untagged = temperature_map(next(gstorder.read_frames(dump, species=["Ge", "Sb", "Te"])), bins=(4, 6), sigma_nm=None)
    assert np.isnan(tagged.temperature.values[0, :, -1]).all()  # the fixed rows carry no temperature
    # without tags the atoms at rest are left out with a warning, not counted as atoms at 0 K
    np.testing.assert_array_equal(untagged.temperature.values, tagged.temperature.values)
    with pytest.raises(ValueError, match="applies to LAMMPS dumps"):
        gstorder.Trajectory(Path(__file__).parents[1] / "data" / "gst124_rocksalt_189at_thermal.extxyz",
                            groups=tmp_path / "groups.lmp")
    bad = tmp_path / "bad.lmp"
    bad.write_text("group fixed region box\n")
    with pytest.raises(ValueError, match="only 'id' lists"):
        read_groups(bad)


def _table_dump(path, rows, columns):
    """A one-frame orthogonal LAMMPS dump whose atom lines are ``rows`` (strings) as given."""
    head = ["ITEM: TIMESTEP", "0", "ITEM: NUMBER OF ATOMS", str(len(rows)), "ITEM: BOX BOUNDS pp pp pp",
            "0 10", "0 10", "0 10", "ITEM: ATOMS " + " ".join(columns)]
    path.write_text("\n".join(head + rows) + "\n")


def test_lammps_numbers_equal_python_float_in_every_style(tmp_path, rng):
    values = rng.normal(0, 5, (400, 6)) * 10.0 ** rng.integers(-25, 25, (400, 6))
    styles = ["{:.6g}", "{!r}", "{:.15g}", "{:.3e}", "{:.10f}", "{:E}", "{:+.17g}", "{:.0f}."]
    rows = [f"{i + 1} 1 " + " ".join(styles[(i + j) % len(styles)].format(float(v)) for j, v in enumerate(row))
            for i, row in enumerate(values)]
    rows += [f"{len(rows) + 1} 1 inf -nan Infinity 1e400 1e-400 -0", f"{len(rows) + 2} 1 .5 5. +3 -.5E-3 000123 0.1e23"]
    path = tmp_path / "numbers.lammpstrj"
    _table_dump(path, rows, ["id", "type", "x", "y", "z", "vx", "vy", "vz"])
    with pytest.warns(GstorderWarning, match=r"frame 0: atom 400 has non-finite positions .*velocities .*1 atom in all"):
        frame = next(read_frames(path, species=["Ge"]))
    expected = np.array([[float(t) for t in row.split()[2:]] for row in rows])
    got = np.hstack([frame.positions + frame.info["origin"], frame.velocities])
    np.testing.assert_array_equal(got, expected)  # bit for bit, NaN included
    numbers = ~np.isnan(expected[:, 3:])  # velocities (positions lose the sign of -0 to the origin shift)
    assert np.array_equal(np.signbit(got[:, 3:][numbers]), np.signbit(expected[:, 3:][numbers]))  # signed zeros too


@pytest.mark.parametrize("token, message", [("1_0", "cannot read x from '1_0'"), ("0x10", "cannot read x"),
                                            ("1e", "cannot read x"), ("1.2.3", "cannot read x"), ("--1", "cannot read x"),
                                            ("\xe9", "cannot read x")])
def test_lammps_tokens_python_float_would_bend_are_refused(tmp_path, token, message):
    path = tmp_path / "bad.lammpstrj"
    _table_dump(path, ["1 1 0 0 0", f"2 1 {token} 1 1"], ["id", "type", "x", "y", "z"])
    with pytest.raises(TrajectoryFormatError, match=rf"frame 0, line 11: {message}"):
        next(read_frames(path, species=["Ge"]))


@pytest.mark.parametrize("row, message", [("2 1 1 1 1 1e30 0 0", "image flags must be integers"),
                                          ("inf 1 1 1 1 0 0 0", "atom ids must be integers"),
                                          ("2 1.5 1 1 1 0 0 0", "atom types must be integers")])
def test_lammps_integer_columns_refuse_fractions_and_infinities(tmp_path, row, message):
    path = tmp_path / "bad.lammpstrj"
    _table_dump(path, ["1 1 0 0 0 0 0 0", row], ["id", "type", "x", "y", "z", "ix", "iy", "iz"])
    with pytest.raises(TrajectoryFormatError, match=f"line 11: {message}"):
        next(read_frames(path, species=["Ge"]))


@pytest.mark.parametrize("suffix, opener", [(".gz", "gzip"), (".bz2", "bz2"), (".xz", "lzma")])
def test_compressed_files_read_like_plain_ones(tmp_path, rng, suffix, opener):
    import importlib

    frames = md_frames(rng, n_frames=5, n_atoms=9)
    for name, write in [("run.lammpstrj", lambda p: write_dump(p, frames, ["id", "type", "x", "y", "z", "vx", "vy", "vz"],
                                                                types={32: 1, 51: 2, 52: 3})),
                        ("run.xyz", lambda p: aseio.write(p, frames, format="extxyz"))]:
        plain = tmp_path / name
        write(plain)
        packed = tmp_path / (name + suffix)
        with importlib.import_module(opener).open(packed, "wb") as fh:
            fh.write(plain.read_bytes())
        ref, traj = list(Trajectory(plain, species=["Ge", "Sb", "Te"])), Trajectory(packed, species=["Ge", "Sb", "Te"])
        assert traj.format == Trajectory(plain).format and len(traj) == 5
        for k in (3, 0, 4):  # random access seeks through the decompressed stream
            np.testing.assert_array_equal(traj[k].positions, ref[k].positions)
        np.testing.assert_array_equal(np.array([f.velocities for f in traj]), np.array([f.velocities for f in ref]))


def test_ase_format_names_are_accepted(tmp_path, rng):
    frames = md_frames(rng, n_frames=2)
    path = tmp_path / "run.txt"
    write_dump(path, frames, ["id", "type", "x", "y", "z"], types={32: 1, 51: 2, 52: 3})
    assert Trajectory(path, format="lammps-dump-text", species=["Ge", "Sb", "Te"]).format == "lammps-dump"
    aseio.write(tmp_path / "run.data", frames, format="extxyz")
    assert len(Trajectory(tmp_path / "run.data", format="extxyz")) == 2


def test_last_line_without_newline_and_tables_longer_than_one_chunk(tmp_path, rng, monkeypatch):
    from gstorder import io

    monkeypatch.setattr(io._LineReader, "CHUNK", 64)  # every table spans many reads and regrows its buffer
    frames = md_frames(rng, n_frames=3, n_atoms=40)
    path = tmp_path / "run.lammpstrj"
    write_dump(path, frames, ["id", "type", "x", "y", "z"], types={32: 1, 51: 2, 52: 3})
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    got = list(read_frames(path, species=["Ge", "Sb", "Te"]))
    assert len(got) == 3
    for frame, atoms in zip(got, frames):
        np.testing.assert_allclose(frame.positions, atoms.positions, atol=1e-7)
    traj = Trajectory(path, species=["Ge", "Sb", "Te"])  # the index skips atom lines across many small reads
    assert len(traj) == 3
    np.testing.assert_allclose(traj[2].positions, frames[2].positions, atol=1e-7)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(TrajectoryFormatError, match="frame 2, line .*: file ends after .* of 40 atom lines"):
        len(Trajectory(path, species=["Ge", "Sb", "Te"]))


def test_lammps_dump_export_round_trips_through_gstorder_and_ase(tmp_path, rng):
    from gstorder import crystallinity, structures
    from gstorder.io import write_lammps_dump

    frames = md_frames(rng, n_frames=3, n_atoms=10)
    for f in frames:  # LAMMPS wants a lower-triangular cell
        f.set_cell(f.cell.cellpar(), scale_atoms=True)
    values = rng.random((3, 10))
    path = tmp_path / "out.lammpstrj"
    write_lammps_dump(path, frames, {"kbar": values, "tetrahedral": values > 0.5}, step=[0, 10, 20])
    got = list(read_frames(path))
    ase_frames = aseio.read(path, index=":", format="lammps-dump-text")
    for k, (frame, atoms, ref) in enumerate(zip(got, ase_frames, frames)):
        np.testing.assert_allclose(frame.cell, ref.cell.array, atol=1e-12)
        np.testing.assert_allclose(frame.positions, ref.positions, atol=5e-7)
        np.testing.assert_allclose(frame.velocities, ref.get_velocities() * ASE_VELOCITY_TO_A_PER_PS, atol=5e-7)
        np.testing.assert_array_equal(frame.numbers, ref.numbers)
        np.testing.assert_allclose(frame.arrays["kbar"], values[k], atol=5e-7)
        np.testing.assert_array_equal(frame.arrays["tetrahedral"], values[k] > 0.5)
        assert frame.info["step"] == 10 * k
        np.testing.assert_allclose(atoms.positions, ref.positions, atol=5e-7)  # ASE reads the same file
        assert atoms.get_chemical_symbols() == ref.get_chemical_symbols()
    # a k̄ result goes in as it is, and a compressed name is read back as it is
    rocksalt = structures.rocksalt("Ge1Sb2Te4", 2, seed=0)
    result = crystallinity.kbar(rocksalt, reference="trigonal", show_progress=False)
    write_lammps_dump(tmp_path / "k.lammpstrj.gz", rocksalt, result)
    back = next(read_frames(tmp_path / "k.lammpstrj.gz"))
    np.testing.assert_allclose(back.arrays["kbar"], result.kbar.values[0], atol=5e-7)


@pytest.mark.parametrize("columns, error, message", [
    ({"x": [0.0] * 10}, ValueError, "not a free LAMMPS dump column name"),
    ({"bad name": [0.0] * 10}, ValueError, "not a free LAMMPS dump column name"),
    ({"label": ["a"] * 10}, TypeError, "must hold numbers"),
    ({"k": [0.0] * 9}, ValueError, r"shape \(9,\)"),
    ({"k": [1e13] * 10}, ValueError, "1e12 or more"),
])
def test_lammps_dump_export_refuses_bad_columns_and_leaves_no_file(tmp_path, rng, columns, error, message):
    from gstorder.io import write_lammps_dump

    frames = md_frames(rng, n_frames=1, n_atoms=10)
    frames[0].set_cell(frames[0].cell.cellpar(), scale_atoms=True)
    with pytest.raises(error, match=message):
        write_lammps_dump(tmp_path / "out.lammpstrj", frames, columns)
    assert not list(tmp_path.iterdir())  # nothing half-written, no temporary file left
    upper = Atoms("Ge", cell=[[2, 1, 0], [0, 3, 0], [0, 0, 4]], pbc=True)
    with pytest.raises(ValueError, match="lower-triangular cell"):
        write_lammps_dump(tmp_path / "out.lammpstrj", upper)


# --------------------------------------------------------------------------- hardening: bad input is refused by name

XDATCAR = "npt\n1.0\n5 0 0\n0 5 0\n0 0 5\nGe Te\n1 1\nDirect configuration= 1\n0 0 0\n0.5 0.5 0.5\n"


@pytest.mark.parametrize("old, new, message", [
    ("5 0 0\n", "5 1.0 0 0\n", "line 3: a lattice vector has 3 components, found 4"),
    ("0 0 5\n", "0 0 five\n", "line 5: cannot read a lattice vector from '0 0 five'"),
    ("1.0\n", "1.0 2.0\n", "line 2: the scale factor must be one non-zero number"),
    ("1.0\n", "\x1c1.0\n", "line 2: cannot read the scale factor"),  # not whitespace to bytes.split (nor to ASE)
    ("1 1\n", "1 x\n", "line 7: atom counts must be positive integers"),
    ("1 1\n", "1 -1\n", "line 7: atom counts must be positive integers"),
    ("1 1\n", "1 0\n", "line 7: atom counts must be positive integers"),
    ("1 1\n", "1 1_0\n", "line 7: atom counts must be positive integers"),
    ("1 1\n", "1 1 1\n", "line 7: 3 atom counts for 2 species"),
    ("1 1\n", "1 99999999999999999999\n", "line 11: file ends after 2 of 100000000000000000000 atom lines"),
    ("Ge Te\n", "Ge X\n", "line 6: dummy atoms 'X' have no element .* write their element in place of X"),
    ("Ge Te\n", "Ge \xe9\n", "line 6: unknown chemical species '\ufffd'"),
    ("0.5 0.5 0.5\n", "0.5 0.5 0.5 1\n", "line 10: expected 3 columns, found 4"),
    ("0.5 0.5 0.5\n", "0.5 0.5\n", "line 10: expected 3 columns, found 2"),
    ("0.5 0.5 0.5\n", "0.5 0.5 1_0\n", "line 10: cannot read z from '1_0'"),
    ("0 0 5\n", "0 0 0\n", "line 3: the lattice vectors .* span no volume"),
])
def test_corrupt_xdatcar_headers_and_coordinates_name_the_line(tmp_path, old, new, message):
    path = tmp_path / "XDATCAR"
    path.write_bytes(XDATCAR.replace(old, new, 1).encode("latin-1"))
    with pytest.raises(TrajectoryFormatError, match=f"XDATCAR: frame 0, {message}"):
        list(read_frames(path))


def test_xdatcar_vasp4_without_species_and_cartesian_configurations(tmp_path):
    path = tmp_path / "XDATCAR"
    path.write_text(XDATCAR.replace("Ge Te\n", ""))
    with pytest.raises(MissingDataError, match=r"no species line and no element for types \[1, 2\]"):
        list(read_frames(path))
    assert next(read_frames(path, species=["Ge", "Te"])).numbers.tolist() == [32, 52]
    path.write_text(XDATCAR.replace("1.0\n", "2.0\n").replace("Direct", "Cartesian"))
    frame = next(read_frames(path))
    np.testing.assert_allclose(frame.cell, np.eye(3) * 10)
    np.testing.assert_allclose(frame.positions[1], [1, 1, 1])  # Cartesian coordinates scale like the lattice
    assert len(Trajectory(path)) == 1


@pytest.mark.parametrize("old, new, message", [
    ("ITEM: TIMESTEP\n", "ITEM: TIMESTEx\n", "line 1: unknown item 'ITEM: TIMESTEx'"),
    ("ITEM: TIMESTEP\n0\n", "", "line 1: no 'ITEM: TIMESTEP' in the frame header"),
    ("ITEM: TIMESTEP\n0\n", "ITEM: TIMESTEP\n0x\n", "line 2: the timestep must be an integer, found '0x'"),
    ("ITEM: TIMESTEP\n0\n", "ITEM: TIMESTEP\n1_0\n", "line 2: the timestep must be an integer"),
    ("ITEM: TIMESTEP\n0\n", "ITEM: TIMESTEP\n--5\n", "line 2: the timestep must be an integer"),
    ("ITEM: NUMBER OF ATOMS\n2\n", "ITEM: NUMBER OF ATOMS\n\x1c2\n", "line 4: the number of atoms must be an integer"),
    ("ITEM: NUMBER OF ATOMS\n2\n", "ITEM: NUMBER OF ATOMS\n-1\n", "line 4: the number of atoms must be an integer ≥ 0"),
    ("ITEM: NUMBER OF ATOMS\n2\n", "ITEM: NUMBER OF ATOMS\n1_0\n", "line 4: the number of atoms must be an integer"),
    ("ix iy iz", "ix iy izz", "line 9: columns ix iy without iz: a vector needs all three"),
    ("0 10\n0 10\n0 10\n", "0 10\n0 1_0\n0 10\n", "line 6: BOX BOUNDS rows must hold 2, 3 or 4 numbers"),
    ("BOX BOUNDS pp pp pp", "BOX BOUNDS pp pp", "line 6: BOX BOUNDS labels 'pp pp': expected a boundary"),
    ("0 10\n0 10\n0 10\n", "0 10\n0 10\n1e20 10\n", r"line 6: BOX BOUNDS give box lengths \[10.0, 10.0, -1e\+20\]"),
    ("BOX BOUNDS pp pp pp", "BOX BOUNDS pp pp px", "line 6: BOX BOUNDS labels 'pp pp px'"),
    ("ITEM: ATOMS", "ITEM: TIME\n1.0\nITEM: TIME\n2.0\nITEM: ATOMS", "line 11: a second 'ITEM: TIME'"),
    ("ITEM: ATOMS", "ITEM: TIME\nnan\nITEM: ATOMS", "line 10: the time must be a finite number, found 'nan'"),
])
def test_corrupt_lammps_headers_are_errors_naming_the_line(tmp_path, old, new, message):
    text = ("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS pp pp pp\n0 10\n0 10\n0 10\n"
            "ITEM: ATOMS id type x y z ix iy iz\n1 1 0 0 0 0 0 0\n2 1 1 1 1 0 0 1\n")
    path = tmp_path / "run.lammpstrj"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(TrajectoryFormatError, match=f"run.lammpstrj: frame 0, {message}"):
        list(read_frames(path, species=["Ge"]))
    path.write_text(text)
    assert next(read_frames(path, species=["Ge"])).arrays["image"].tolist() == [[0, 0, 0], [0, 0, 1]]


@pytest.mark.parametrize("name, text", [("run.xyz", ""), ("run.xyz", "\n\n  \n"), ("run.lammpstrj", ""), ("XDATCAR", "\n"),
                                        ("run.bin", "")])
def test_files_without_frames_are_errors(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    for read in (lambda: list(read_frames(path)), lambda: len(Trajectory(path)), lambda: list(read_frames(path, index=5))):
        with pytest.raises(TrajectoryFormatError, match=f"{name}: no frames"):
            read()


@pytest.mark.parametrize("name, frame, fmt", [("run.xyz", "2\nLattice=\"5 0 0 0 5 0 0 0 5\"\nGe 0 0 0\nTe 1 1 1\n", "extxyz"),
                                               ("XDATCAR", XDATCAR, "vasp-xdatcar")])
def test_blank_lines_end_the_file_and_frames_after_them_are_errors(tmp_path, name, frame, fmt):
    path = tmp_path / name
    path.write_text(frame + frame + "\n\n")
    assert len(list(read_frames(path))) == len(Trajectory(path)) == 2 == len(aseio.read(path, ":", format=fmt))
    path.write_text(frame + "\n" + frame)
    assert len(aseio.read(path, ":", format=fmt)) == 1  # ASE stops at the blank line, silently
    line = frame.count("\n") + 1
    for read in (lambda: list(read_frames(path)), lambda: len(Trajectory(path))):
        with pytest.raises(TrajectoryFormatError, match=f"frame 1, line {line}: blank line between frames"):
            read()


@pytest.mark.parametrize("name, text", [
    ("run.xyz", b"2\nLattice=\"5 0 0 0 5 0 0 0 5\" \xff\xfe=\xe9\nGe 0 0 0\nTe\xff 1 1 1\n"),
    ("run.xyz", b"2\ncomment\nGe 0 0 0\nTe 1 1 \xe9\n"),
    ("run.xyz", b"2\ncomment\nGe 0 0 0\nTe 1 1 1\x00\n"),
    ("run.xyz", b"\xff2\ncomment\nGe 0 0 0\nTe 1 1 1\n"),
    ("run.lammpstrj", b"ITEM: TIMESTEP\n\xff\n"),
    ("run.lammpstrj", b"ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 1\n0 1\n0 \xe91\n"
                      b"ITEM: ATOMS id type x y z\n1 1 0 0 0\n"),
    ("XDATCAR", XDATCAR.replace("Te\n", "T\xe9\n").encode("latin-1")),
])
def test_non_utf8_bytes_give_format_errors_not_unicode_errors(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text)
    with pytest.raises(TrajectoryFormatError, match=name):
        list(read_frames(path, species=["Ge"]))


def test_non_finite_positions_and_velocities_warn_naming_frame_and_atom(tmp_path):
    head = "3\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3:vel:R:3\n"
    good = head + "Ge 0 0 0 0 0 0\nTe 1 1 1 0 0 0\nTe 2 2 2 0 0 0\n"
    bad = head + "Ge 0 0 0 0 0 0\nTe 1 1 1 nan 0 0\nTe 2 2 2 0 inf 0\n"
    path = tmp_path / "run.xyz"
    path.write_text(good + good + good + bad)
    with pytest.warns(GstorderWarning, match=r"run.xyz: frame 3: atom 1 has non-finite velocities \(\[nan, 0.0, 0.0\]\); "
                                             r"2 atoms in all") as record:
        frames = list(read_frames(path))
    assert len(record) == 1 and np.isnan(frames[3].velocities[1, 0])
    path.write_text(good.replace("Ge 0 0 0", "Ge nan 0 0"))
    with pytest.warns(GstorderWarning, match=r"frame 0: atom 0 has non-finite positions"):
        Trajectory(path)[0]


@pytest.mark.parametrize("text, pbc", [
    ('2\nLattice="5 0 0 0 5 0 0 0 5" pbc="T" Properties=species:S:1:pos:R:3\nGe 0 0 0\nTe 1 1 1\n', [True] * 3),
    ('2\nLattice="5 0 0 0 5 0 0 0 5" pbc=F Properties=species:S:1:pos:R:3\nGe 0 0 0\nTe 1 1 1\n', [False] * 3),
    ('2\nLattice="5 0 0 0 5 0 0 0 5" properties=species:S:1:pos:R:3\nGe 0 0 0\nTe 1 1 1\n', [True] * 3),
    ("2\ncell from VEC lines\nGe 0 0 0\nTe 1 1 1\nVEC1 5 0 0\nVEC2 0.5 5 0\nVEC3 0 0 5\n", [True] * 3),
    ("2\nslab\nGe 0 0 0\nTe 1 1 1\nVEC1 5 0 0\nVEC2 0 5 0\n", [True, True, False]),
    ('2\nLattice="5 0 0 0 5 0 0 0 5" pbc=[T, T, F] a = 1\nGe 0 0 0\nTe 1 1 1\n', [True, True, False]),
    ('2\nLattice="5 0 0 0 5 0 0 0 5" [ pbc="T T F"\nGe 0 0 0\nTe 1 1 1\n', [True] * 3),  # '[' groups the rest: no pbc
])
def test_extxyz_corners_ase_reads_are_read_as_ase_reads_them(tmp_path, text, pbc):
    path = tmp_path / "run.xyz"
    path.write_text(text + text)
    frames = list(read_frames(path))
    images = aseio.read(path, ":", format="extxyz")
    assert len(frames) == len(images) == len(Trajectory(path)) == 2
    for frame, atoms in zip(frames, images):
        assert frame.pbc.tolist() == atoms.pbc.tolist() == pbc
        np.testing.assert_array_equal(frame.cell, atoms.cell.array)
        np.testing.assert_array_equal(frame.positions, atoms.positions)
        np.testing.assert_array_equal(frame.numbers, atoms.numbers)


def test_extxyz_bad_pbc_vec_and_lattice_are_refused(tmp_path):
    path = tmp_path / "run.xyz"
    for comment, atoms_after, message in [
        ('Lattice="5 0 0 0 5 0 0 0 5" pbc="T F"', "", r"line 2: pbc must be 1 or 3 flags \(T or F\)"),
        ('Lattice="5 0 0 0 5 0 0 0 5" pbc="X Y Z"', "", "line 2: pbc must be 1 or 3 flags"),
        ('Lattice="5 0 0 0 5 0 0 0 nan"', "", "line 2: Lattice holds non-finite numbers"),
        ('Lattice="5 0 0 0 5 0 0 0 1_0"', "", "line 2: Lattice must hold 9 numbers"),
        ("c", "VEC2 5 0 0\n", "line 4: expected 'VEC1 ax ay az'"),
        ("c", "VEC1 5 0\n", "line 4: expected 'VEC1 ax ay az'"),
        ("c", "VEC1 5 0 x\n", "line 4: cannot read a cell vector"),
        ("Properties=species:S:1:pos:R:999999999", "", "line 3: Properties=.* declares 1000000000 columns"),
    ]:
        path.write_text(f"1\n{comment}\nGe 0 0 0\n{atoms_after}")
        with pytest.raises(TrajectoryFormatError, match=f"frame 0, {message}"):
            list(read_frames(path))


def test_reader_arguments_are_checked_at_the_boundary(tmp_path, rng):
    from gstorder.errors import ArgumentTypeError, InvalidArgumentError

    path = tmp_path / "run.xyz"
    aseio.write(path, md_frames(rng, n_frames=3, n_atoms=4))
    for value in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(InvalidArgumentError, match="timestep_fs must be"):
            Trajectory(path, timestep_fs=value)
    with pytest.raises(ArgumentTypeError, match="timestep_fs must be a real number"):
        list(read_frames(path, timestep_fs="2"))
    with pytest.raises(InvalidArgumentError, match="units='si'; choose one of 'metal', 'real'"):
        list(read_frames(path, units="si"))
    with pytest.raises(ArgumentTypeError, match="format must be a string"):
        Trajectory(path, format=["extxyz"])
    for species in (5, "GeTe"):
        with pytest.raises(ArgumentTypeError, match="species must be a dict"):
            Trajectory(path, species=species)
    traj = Trajectory(path)
    for index in ("1", 1.0, True, [0, 1]):
        with pytest.raises(ArgumentTypeError, match="index must be an integer"):
            list(read_frames(path, index=index))
        with pytest.raises(ArgumentTypeError, match="index must be an integer"):
            traj[index]
    with pytest.raises(ArgumentTypeError, match="index.stop must be an integer"):
        traj[0:2.5]
    for index in (slice(0, 5, 0), slice(None, None, -1)):
        with pytest.raises(InvalidArgumentError, match="index step must be positive"):
            list(read_frames(path, index=index))
    with pytest.raises(IndexError, match="frame 3 out of range for 3 frames"):
        traj[3]
    assert len(traj[np.int64(0) : np.int64(2)]) == 2 and traj[np.int32(-1)].info["frame_index"] == 2


def test_frames_without_atoms_do_not_swallow_the_frames_after_them(tmp_path):
    path = tmp_path / "run.xyz"
    path.write_text("0\nempty\n0\nempty again\n1\nc\nGe 0 0 0\n")
    assert [len(f) for f in read_frames(path)] == [0, 0, 1] and len(Trajectory(path)) == 3 == len(aseio.read(path, ":"))
    path.write_bytes(b"0\n3")  # found by the fuzzer: an IndexError
    assert [len(f) for f in read_frames(path)] == [0]
    dump = tmp_path / "run.lammpstrj"
    frame = "ITEM: TIMESTEP\n{}\nITEM: NUMBER OF ATOMS\n{}\nITEM: BOX BOUNDS pp pp pp\n0 5\n0 5\n0 5\nITEM: ATOMS id type x y z\n"
    dump.write_text(frame.format(0, 0) + frame.format(1, 1) + "1 1 0 0 0\n")
    assert [len(f) for f in read_frames(dump, species=["Ge"])] == [0, 1] and len(Trajectory(dump)) == 2
