"""LAMMPS binary dumps and AMBER NetCDF trajectories, read against LAMMPS's text dump of the same run, ASE and OVITO."""

import gzip
import shutil

import numpy as np
import pytest
from ase import Atoms
from ase import io as aseio
from conftest import require, run_lammps

from gstorder import Trajectory, read_frames
from gstorder.errors import MissingDataError, TrajectoryFormatError

SPECIES = {1: "Ge", 2: "Sb", 3: "Te"}

#: Column sets of `dump custom` that the binary and text dumps both carry (one dump pair per set).
VARIANTS = {
    "xyz_v": "id type x y z vx vy vz",
    "scaled_image": "id type xs ys zs ix iy iz",
    "unwrapped_mass": "id type xu yu zu mass vx vy vz",
}


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    """One LAMMPS run of a tilted 3-species cell writing every variant as a binary and a full-precision text dump."""
    directory = tmp_path_factory.mktemp("lammps")
    lines = ["units metal", "lattice fcc 5.0", "region box prism 0 3 0 3 0 3 0.5 0.3 0.2", "create_box 3 box",
             "create_atoms 1 region box", "set type 1 type/fraction 2 0.4 7", "set type 1 type/fraction 3 0.5 9",
             "mass * 100.0", "velocity all create 30000 4", "pair_style zero 4.0", "pair_coeff * *", "fix 1 all nve",
             "timestep 0.002"]
    for name, columns in VARIANTS.items():
        lines += [f"dump {name}b all custom 20 {name}.bin {columns}", f"dump {name}t all custom 20 {name}.lammpstrj {columns}",
                  f"dump_modify {name}t format float %.17g"]
    lines += ["dump_modify unwrapped_massb units yes time yes", "dump_modify unwrapped_masst units yes time yes", "run 40"]
    (directory / "in.lmp").write_text("\n".join(lines) + "\n")
    run_lammps(directory)
    return directory


def assert_same_frames(got, expected):
    assert len(got) == len(expected) > 0
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_array_equal(a.cell, b.cell)
        np.testing.assert_array_equal(a.numbers, b.numbers)
        np.testing.assert_array_equal(a.pbc, b.pbc)
        assert (a.velocities is None) == (b.velocities is None)
        if a.velocities is not None:
            np.testing.assert_array_equal(a.velocities, b.velocities)
        assert a.time == b.time and a.info["step"] == b.info["step"]
        assert sorted(a.arrays) == sorted(b.arrays)
        for name in a.arrays:
            np.testing.assert_array_equal(a.arrays[name], b.arrays[name])


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_binary_dump_reads_as_the_text_dump_of_the_same_run(dumps, variant):
    binary = Trajectory(dumps / f"{variant}.bin", species=SPECIES, timestep_fs=2.0)
    assert binary.format == "lammps-dump-binary" and len(binary) == 3
    text = list(read_frames(dumps / f"{variant}.lammpstrj", species=SPECIES, timestep_fs=2.0))
    assert_same_frames(list(binary), text)
    assert_same_frames([binary[-1], binary[1]], [text[-1], text[1]])  # through the frame index
    assert_same_frames(list(binary.iter(slice(1, None, 2))), text[1::2])
    assert np.ptp(text[-1].positions - text[0].positions) > 1.0  # the atoms did move between frames


def test_binary_dump_units_and_time_from_its_header(dumps):
    frames = list(read_frames(dumps / "unwrapped_mass.bin", species=SPECIES, units="real"))
    assert [f.time for f in frames] == pytest.approx([0.0, 0.04, 0.08])  # the header's time (ps) and units win
    assert "image" not in frames[0].arrays and frames[0].masses is not None


def test_binary_dump_compressed_and_by_content(dumps, tmp_path):
    with open(dumps / "xyz_v.bin", "rb") as src, gzip.open(tmp_path / "run.bin.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    shutil.copy(dumps / "xyz_v.bin", tmp_path / "trajectory")  # no telling suffix: the magic string decides
    expected = list(read_frames(dumps / "xyz_v.lammpstrj", species=SPECIES))
    assert_same_frames(list(read_frames(tmp_path / "run.bin.gz", species=SPECIES)), expected)
    assert_same_frames(list(read_frames(tmp_path / "trajectory", species=SPECIES)), expected)
    assert_same_frames([Trajectory(tmp_path / "run.bin.gz", species=SPECIES)[2]], expected[2:])


def test_binary_dump_equals_ovito(dumps):
    io = require("ovito.io", "ovito")
    pipeline = io.import_file(str(dumps / "xyz_v.bin"))
    assert pipeline.source.num_frames == 3  # waits for OVITO's frame scan (under load compute(1) came back with frame 0)
    for k, frame in enumerate(read_frames(dumps / "xyz_v.bin", species=SPECIES)):
        data = pipeline.compute(k)
        if data.attributes["Timestep"] != frame.info["step"]:  # once seen under load: OVITO handed back frame 0
            data = pipeline.compute(k)
        assert data.attributes["Timestep"] == frame.info["step"]
        order = np.argsort(data.particles.identifiers)
        np.testing.assert_array_equal(np.asarray(data.particles.positions)[order] - data.cell[:, 3], frame.positions)
        np.testing.assert_array_equal(np.asarray(data.cell[:, :3]).T, frame.cell)


def test_truncated_binary_dump_is_an_error_at_every_cut(dumps, tmp_path):
    data = (dumps / "xyz_v.bin").read_bytes()
    frame_size = len(data) // 3
    for cut in sorted({*range(1, 200, 7), *range(frame_size - 20, frame_size + 200, 13), len(data) - 1}):
        if cut == frame_size:
            continue
        path = tmp_path / "cut.bin"
        path.write_bytes(data[:cut])
        with pytest.raises(TrajectoryFormatError, match="truncated|ends inside"):
            list(read_frames(path, species=SPECIES))
        with pytest.raises(TrajectoryFormatError, match="truncated|ends inside"):
            len(Trajectory(path, species=SPECIES))


def test_binary_dumps_before_2021_are_refused_with_the_conversion_named(tmp_path):
    path = tmp_path / "old.bin"
    path.write_bytes(np.array([100, 12], "<i8").tobytes() + np.zeros(40, "<i4").tobytes())  # positive step: old layout
    with pytest.raises(TrajectoryFormatError, match="binary2txt"):
        list(read_frames(path, species=SPECIES))


# --------------------------------------------------------------------------- NetCDF


def test_netcdf_written_by_ase_reads_as_ase_reads_it(tmp_path, rng):
    frames = []
    for k in range(3):
        atoms = Atoms(numbers=rng.choice([32, 51, 52], 20), cell=[[9.0, 0, 0], [1.5, 8.0, 0], [-0.7, 0.4, 10.0]], pbc=True)
        atoms.set_scaled_positions(rng.uniform(0, 1, (20, 3)))
        frames.append(atoms)
    path = tmp_path / "run.nc"
    aseio.write(path, frames, format="netcdftrajectory")
    expected = aseio.read(path, ":", format="netcdftrajectory")
    got = Trajectory(path)
    assert got.format == "netcdf" and len(got) == 3
    for frame, atoms in zip(got, expected):
        np.testing.assert_array_equal(frame.positions, atoms.positions)
        np.testing.assert_allclose(frame.cell, atoms.cell.array, atol=1e-12)
        np.testing.assert_array_equal(frame.numbers, atoms.numbers)
        assert frame.pbc.all()


def write_lammps_netcdf(path, frames, ids, types, dt_fs, real=False):
    """An AMBER NetCDF file laid out as LAMMPS's `dump netcdf` writes it (float32 values, time as step x dt)."""
    netCDF4 = require("netCDF4", "netcdf4")
    with netCDF4.Dataset(path, "w", format="NETCDF3_64BIT_OFFSET") as ds:
        ds.Conventions, ds.ConventionVersion, ds.program = "AMBER", "1.0", "LAMMPS"
        ds.createDimension("frame", None)
        ds.createDimension("atom", len(ids))
        ds.createDimension("spatial", 3)
        ds.createDimension("cell_spatial", 3)
        ds.createDimension("cell_angular", 3)
        time = ds.createVariable("time", "f4", ("frame",))
        time.units, time.scale_factor = ("femtosecond" if real else "picosecond"), np.float32(dt_fs * (1 if real else 1e-3))
        time.set_auto_scale(False)  # LAMMPS stores the step; readers multiply by scale_factor
        for name in ("cell_origin", "cell_lengths", "cell_angles"):
            ds.createVariable(name, "f4", ("frame", "cell_spatial"))
        ds["cell_lengths"].units = ds["cell_origin"].units = "Angstrom"
        ds["cell_angles"].units = "degree"
        ds.createVariable("id", "i4", ("frame", "atom"))
        ds.createVariable("type", "i4", ("frame", "atom"))
        ds.createVariable("coordinates", "f4", ("frame", "atom", "spatial")).units = "Angstrom"
        velocities = ds.createVariable("velocities", "f4", ("frame", "atom", "spatial"))
        velocities.units = "Angstrom/femtosecond" if real else "Angstrom/picosecond"
        ds.createVariable("c_kbar", "f4", ("frame", "atom"))
        for k, (step, positions, v, lengths, kbar) in enumerate(frames):
            time[k] = step
            ds["cell_origin"][k] = [-1.0, 0.5, 0.0]
            ds["cell_lengths"][k] = lengths
            ds["cell_angles"][k] = [90.0, 90.0, 90.0]
            ds["id"][k], ds["type"][k] = ids, types
            ds["coordinates"][k] = positions + [-1.0, 0.5, 0.0]
            velocities[k] = v
            ds["c_kbar"][k] = kbar


@pytest.mark.parametrize("real", [False, True])
def test_netcdf_as_lammps_writes_it(tmp_path, rng, real):
    n = 30
    ids = rng.permutation(n) + 1
    types = rng.integers(1, 4, n)
    frames = [(100 * k, rng.uniform(0, 10, (n, 3)).astype(np.float32), rng.normal(0, 5, (n, 3)).astype(np.float32),
               np.float32([10.0, 11.0, 12.0]), rng.uniform(0, 1, n).astype(np.float32)) for k in range(2)]
    path = tmp_path / "dump.nc"
    write_lammps_netcdf(path, frames, ids, types, dt_fs=2.0, real=real)
    got = list(read_frames(path, species=SPECIES))
    order = np.argsort(ids)
    for frame, (step, positions, v, lengths, kbar) in zip(got, frames):
        np.testing.assert_allclose(frame.positions, positions[order].astype(float), atol=2e-6)  # float32 on disk
        np.testing.assert_allclose(frame.velocities, v[order].astype(float) * (1000.0 if real else 1.0), rtol=1e-6)
        np.testing.assert_array_equal(frame.numbers, np.array([0, 32, 51, 52])[types[order]])
        np.testing.assert_allclose(frame.cell, np.diag(lengths.astype(float)), atol=1e-12)
        np.testing.assert_array_equal(frame.arrays["c_kbar"], kbar[order].astype(float))
        assert frame.time == pytest.approx(step * 2.0e-3, rel=1e-6)
    with pytest.raises(MissingDataError, match="species"):
        list(read_frames(path))


def test_netcdf_equals_ovito(tmp_path, rng):
    io = require("ovito.io", "ovito")
    atoms = Atoms(numbers=rng.choice([32, 52], 40), cell=[[12.0, 0, 0], [2.0, 11.0, 0], [1.0, -1.5, 13.0]], pbc=True)
    atoms.set_scaled_positions(rng.uniform(0, 1, (40, 3)))
    path = tmp_path / "run.nc"
    aseio.write(path, [atoms], format="netcdftrajectory")
    data = io.import_file(str(path)).compute(0)
    frame = next(read_frames(path))
    np.testing.assert_array_equal(np.asarray(data.particles.positions), frame.positions)
    np.testing.assert_allclose(np.asarray(data.cell[:, :3]).T, frame.cell, atol=1e-12)


def test_bad_netcdf_files_are_format_errors(tmp_path):
    path = tmp_path / "garbage.nc"
    path.write_bytes(b"CDF\x01" + bytes(range(200)))
    with pytest.raises(TrajectoryFormatError, match="NetCDF"):
        list(read_frames(path))
    netCDF4 = require("netCDF4", "netcdf4")
    with netCDF4.Dataset(tmp_path / "empty.nc", "w") as ds:
        ds.createDimension("frame", None)
    with pytest.raises(TrajectoryFormatError, match="AMBER"):
        list(read_frames(tmp_path / "empty.nc"))
