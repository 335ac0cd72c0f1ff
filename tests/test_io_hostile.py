"""Damaged and hostile trajectory files: compressed streams cut or corrupted, files that change after indexing,
counts and lines no real file has (memory and time bombs), and small corners where a reader used to guess.

Every file here is small on disk; the tests that read past what a file declares measure their peak memory with
tracemalloc (NumPy reports its buffers to it), so a reader that reserved what a corrupt count asks for would fail.
"""

import bz2
import gzip
import lzma
import os
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from ase import Atoms
from ase import io as aseio
from conftest import random_atoms

from gstorder import Trajectory, read_frames
from gstorder.errors import GstorderWarning, TrajectoryFormatError
from gstorder.io import _common, _text

COMPRESS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


def _frames(rng, n_frames=4, n_atoms=40):
    frames = [random_atoms(rng, n_atoms) for _ in range(n_frames)]
    for k, atoms in enumerate(frames):
        atoms.info["time_ps"] = 0.1 * k
    return frames


def _xyz(frames) -> bytes:
    from io import StringIO

    out = StringIO()
    aseio.write(out, frames, format="extxyz")
    return out.getvalue().encode()


def _peak_mib(read):
    """Peak traced memory (MiB) while ``read()`` runs; what it raised, or None."""
    tracemalloc.start()
    try:
        read()
        raised = None
    except Exception as exc:  # returned for the test to check
        raised = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return peak, raised


def _deflated(path, head: bytes, mib: int, block=b"0" * (1 << 20)):
    """A .gz file of ``head`` and ``mib`` MiB of ``block``, written without holding the content in memory."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as fh:
        fh.write(packer.compress(head))
        for _ in range(mib):
            fh.write(packer.compress(block))
        fh.write(packer.flush())
    return path


# --------------------------------------------------------------------------- compressed streams


@pytest.mark.parametrize("suffix", sorted(COMPRESS))
def test_a_cut_compressed_stream_names_file_and_frame_after_the_frames_before_it(tmp_path, rng, suffix):
    frames = _frames(rng)
    raw = _xyz(frames)
    packed = COMPRESS[suffix](raw)
    path = tmp_path / f"run.xyz{suffix}"
    path.write_bytes(packed[: int(len(packed) * 0.8)])
    got = []
    with pytest.raises(TrajectoryFormatError, match=rf"run.xyz{suffix}: frame \d, line \d+: the {suffix} stream is "
                       r"corrupt or truncated after \d+ bytes of decompressed data \(EOFError"):
        for frame in read_frames(path):
            got.append(frame)
    for frame, atoms in zip(got, frames):  # what came before the damage reads as it was written
        np.testing.assert_allclose(frame.positions, atoms.positions, atol=1e-7)
    with pytest.raises(TrajectoryFormatError, match=rf"run.xyz{suffix}: frame \d, line \d+: the {suffix} stream"):
        len(Trajectory(path))


@pytest.mark.parametrize("suffix", sorted(COMPRESS))
def test_corrupt_compressed_streams_and_other_data_under_their_names_are_format_errors(tmp_path, rng, suffix):
    packed = bytearray(COMPRESS[suffix](_xyz(_frames(rng))))
    path = tmp_path / f"run.xyz{suffix}"
    for damage in range(6):  # bytes in the middle of the stream: a decoding error or a checksum mismatch
        broken = bytearray(packed)
        broken[len(broken) // 2 + 7 * damage] ^= 0xFF
        path.write_bytes(bytes(broken))
        with pytest.raises(TrajectoryFormatError, match=f"run.xyz{suffix}: "):
            list(read_frames(path))
    path.write_bytes(b"3\nplain text, not compressed\n")
    with pytest.raises(TrajectoryFormatError, match=rf"run.xyz{suffix}: frame 0, line 1: the {suffix} stream is corrupt"):
        list(read_frames(path))
    unnamed = tmp_path / f"run{suffix}"  # the format is guessed from the first bytes
    unnamed.write_bytes(b"not compressed at all")
    with pytest.raises(TrajectoryFormatError, match=f"run{suffix}: the {suffix} stream is corrupt"):
        list(read_frames(unnamed))


def test_a_cut_compressed_binary_dump_names_the_frame(tmp_path, rng):
    from test_io_fuzz import binary_dump

    frames = [Atoms("GeSbTe", positions=rng.random((3, 3)) * 5, cell=np.eye(3) * 6, pbc=True) for _ in range(20)]
    packed = gzip.compress(binary_dump(frames))
    path = tmp_path / "run.bin.gz"
    path.write_bytes(packed[: len(packed) - 30])
    with pytest.raises(TrajectoryFormatError, match=r"run.bin.gz: frame \d+, from byte \d+: the .gz stream is corrupt"):
        list(read_frames(path, species=["Ge", "Sb", "Te"]))


@pytest.mark.parametrize("name", ["run.xyz.gz", "run.xyz"])
def test_a_file_changed_after_indexing_is_indexed_again(tmp_path, rng, name):
    frames = _frames(rng, n_frames=6)
    path = tmp_path / name
    write = (lambda data: path.write_bytes(gzip.compress(data))) if name.endswith(".gz") else path.write_bytes
    write(_xyz(frames[:3]))
    traj = Trajectory(path)
    assert len(traj) == 3
    with open(path, "ab") as fh:  # a run still appending (a second gzip member continues the stream)
        fh.write(gzip.compress(_xyz(frames[3:5])) if name.endswith(".gz") else _xyz(frames[3:5]))
    assert len(traj) == 5
    np.testing.assert_allclose(traj[4].positions, frames[4].positions, atol=1e-7)
    write(_xyz(frames[:2]))  # truncated
    with pytest.raises(IndexError, match=r"frame 3 out of range for 2 frames .*\(the file changed since it was last indexed\)"):
        traj[3]
    np.testing.assert_allclose(traj[1].positions, frames[1].positions, atol=1e-7)
    tmp = tmp_path / "new"
    tmp.write_bytes(path.read_bytes().replace(b"Ge", b"Sb") if not name.endswith(".gz") else
                    gzip.compress(_xyz(frames[:2]).replace(b"Ge", b"Sb")))
    os.replace(tmp, path)  # rewritten in place of the old file: same size, new inode
    assert 32 not in traj[1].numbers and 51 in traj[1].numbers
    stat = path.stat()
    with open(path, "r+b") as fh:  # rewritten in place, same size: the modification time tells
        fh.write(path.read_bytes())
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert len(traj) == 2


# --------------------------------------------------------------------------- memory and time bombs


def test_a_gzipped_file_of_digits_without_a_line_end_is_refused_early(tmp_path):
    """The reproducer of the fault pass at a quarter of its size: 64 MiB of '0' in 64 kB (it took 0.8 GB and ended
    in a foreign ValueError; a 2 MB one ran past 120 s)."""
    path = _deflated(tmp_path / "zeros.xyz.gz", b"", 64)
    assert path.stat().st_size < 100_000
    for read in (lambda: list(read_frames(path)), lambda: len(Trajectory(path))):
        peak, raised = _peak_mib(read)
        assert isinstance(raised, TrajectoryFormatError), raised
        assert "frame 0, line 1: the line runs over 16777216 bytes without a line end" in str(raised)
        assert peak < 120, peak  # a few times the 16 MiB line limit, not the 64 MiB of the stream


@pytest.mark.parametrize("head", [b"3\ncomment\nGe 0 0 0\n", b"ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n3\nITEM: BOX BOUNDS "
                                  b"pp pp pp\n0 1\n0 1\n0 1\nITEM: ATOMS id type x y z\n1 1 0 0 0\n",
                                  b"c\n1\n1 0 0\n0 1 0\n0 0 1\nGe\n3\nDirect configuration= 1\n0 0 0\n"],
                         ids=["extxyz", "dump", "xdatcar"])
def test_overlong_atom_lines_are_refused_in_every_text_format(tmp_path, monkeypatch, head):
    monkeypatch.setattr(_text._LineReader, "MAX_LINE", 1 << 16)
    monkeypatch.setattr(_text._LineReader, "CHUNK", 1 << 12)
    name = {b"3": "run.xyz", b"I": "run.lammpstrj", b"c": "XDATCAR"}[head[:1]]
    for body in (b"0" * (1 << 18), b"0 " * (1 << 17) + b"\n"):  # no line end at all; a line end too late
        for path in (tmp_path / name, tmp_path / f"{name}.gz"):
            data = head + body + b"1 1 0 0 0\n" * 3
            path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
            for read in (lambda: list(read_frames(path, species=["Ge"])), lambda: len(Trajectory(path, species=["Ge"]))):
                with pytest.raises(TrajectoryFormatError, match=r"frame 0, line \d+: the line runs over 65536 bytes"):
                    read()


def test_counts_beyond_what_the_file_holds_reserve_nothing(tmp_path):
    cases = {"run.xyz": b"100000000000000\ncomment\nGe 0 0 0\n",
             "run.lammpstrj": b"ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n100000000000000\nITEM: BOX BOUNDS pp pp pp\n0 1\n"
                              b"0 1\n0 1\nITEM: ATOMS id type x y z\n1 1 0 0 0\n",
             "XDATCAR": b"c\n1\n1 0 0\n0 1 0\n0 0 1\nGe\n100000000000000\nDirect configuration= 1\n0 0 0\n"}
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        peak, raised = _peak_mib(lambda: list(read_frames(path, species=["Ge"])))
        assert isinstance(raised, TrajectoryFormatError) and "file ends after 1 of 100000000000000 atom lines" in str(raised)
        assert peak < 20, (name, peak)  # it reserved 1 GiB for the table before


def test_decompressed_frames_that_cannot_fit_in_memory_are_refused_before_reading(tmp_path, monkeypatch, rng):
    monkeypatch.setattr(_common, "_available_memory", lambda: 1 << 20)  # a machine with 1 MiB to spare
    from test_io_fuzz import binary_dump

    big = _frames(rng, n_frames=1, n_atoms=50_000)
    files = {"run.xyz.gz": gzip.compress(_xyz(big)),
             "run.bin.gz": gzip.compress(binary_dump(big))}
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(TrajectoryFormatError, match=r"frame 0: 50000 atoms would take at least 1.\d MiB in memory, "
                           r"more than the 1.0 MiB available"):
            list(read_frames(path, species=["Ge", "Sb", "Te"]))
        assert len(Trajectory(path, species=["Ge", "Sb", "Te"])) == 1  # indexing reads no table: it is not refused
    path = tmp_path / "plain.xyz"  # an uncompressed file bounds its tables itself
    path.write_bytes(_xyz(big))
    assert len(next(read_frames(path))) == 50_000


def test_counts_and_steps_of_thousands_of_digits_are_format_errors(tmp_path):
    digits = "9" * 5000  # int() refuses over 4,300 digits with a foreign ValueError
    cases = {"run.xyz": (f"{digits}\ncomment\nGe 0 0 0\n", "line 1: expected the number of atoms, found '9999"),
             "run.lammpstrj": (f"ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n{digits}\nITEM: BOX BOUNDS pp pp pp\n0 1\n0 1\n"
                               "0 1\nITEM: ATOMS id type x y z\n1 1 0 0 0\n", "line 4: the number of atoms must be an integer"),
             "XDATCAR": (f"c\n1\n1 0 0\n0 1 0\n0 0 1\nGe\n{digits}\nDirect configuration= 1\n0 0 0\n",
                         "line 7: atom counts must be positive integers"),
             "POSCAR": (f"c\n1\n1 0 0\n0 1 0\n0 0 1\nGe\n{digits}\nDirect\n0 0 0\n", "line 7: atom counts must be integers")}
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(TrajectoryFormatError, match=f"{message}.*5000 characters; no count or step has over 30 digits"):
            list(read_frames(tmp_path / name, species=["Ge"]))
    path = tmp_path / "step.lammpstrj"
    path.write_text(cases["run.lammpstrj"][0].replace(digits, "1").replace("TIMESTEP\n0", f"TIMESTEP\n{digits}"))
    with pytest.raises(TrajectoryFormatError, match="line 2: the timestep must be an integer.*5000 characters"):
        list(read_frames(path, species=["Ge"]))


def test_a_wide_header_over_short_rows_allocates_no_table_for_it(tmp_path):
    """One atom line of 100,000 columns, then 20,000 short ones: the table would take 16 GB before the parser saw
    the second row."""
    wide = " ".join(["1"] * 100_000)
    cases = {"run.xyz": f"20000\nProperties=species:S:1:pos:R:3:x:R:99996\nGe 0 0 0 {wide[8:]}\n" + "H\n" * 19_999,
             "run.lammpstrj": ("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n20000\nITEM: BOX BOUNDS pp pp pp\n0 1\n0 1\n0 1\n"
                               "ITEM: ATOMS id type x y z " + " ".join(f"c{k}" for k in range(99_995)) + f"\n{wide}\n"
                               + "1\n" * 19_999)}
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text)
        peak, raised = _peak_mib(lambda: list(read_frames(path, species=["Ge"])))
        assert isinstance(raised, TrajectoryFormatError), raised
        assert "expected 100000 columns, found 1:" in str(raised) and peak < 60, (name, peak, raised)


def test_properties_wider_than_any_line_are_refused_without_naming_each_column(tmp_path):
    path = tmp_path / "run.xyz"
    path.write_text("0\nProperties=species:S:1:pos:R:99999999999999\n")
    with pytest.raises(TrajectoryFormatError, match="line 2: Properties=.* declares 100000000000000 columns, more than a "
                       "line of 16777216 bytes can hold"):
        list(read_frames(path))
    path.write_text("1\nProperties=species:S:1:pos:R:\u00b3\nGe 0 0 0\n")  # a digit to str.isdigit, not to int()
    with pytest.raises(TrajectoryFormatError, match="line 2: malformed Properties entry 'pos:R:\u00b3'"):
        list(read_frames(path))


def test_poscar_counts_beyond_the_file_are_refused_before_ase_allocates(tmp_path):
    path = tmp_path / "POSCAR"
    path.write_text("GeTe\n1.0\n6 0 0\n0 6 0\n0 0 6\nGe Te\n1 1000000000\nDirect\n0 0 0\n0.5 0.5 0.5\n")
    peak, raised = _peak_mib(lambda: list(read_frames(path)))
    assert isinstance(raised, TrajectoryFormatError), raised
    assert "line 7: the counts declare 1000000001 atoms, whose coordinate lines the 25 bytes left" in str(raised)
    assert peak < 20, peak  # ASE made a list of 1e9 symbols (8 GB) first


def _netcdf(path, n_atoms, *, fmt="NETCDF4", zlib=False, frames=1, write=True):
    netCDF4 = pytest.importorskip("netCDF4")
    with netCDF4.Dataset(path, "w", format=fmt) as ds:
        ds.Conventions = "AMBER"
        ds.createDimension("frame", None)
        ds.createDimension("atom", n_atoms)
        ds.createDimension("spatial", 3)
        coordinates = ds.createVariable("coordinates", "f4", ("frame", "atom", "spatial"), zlib=zlib)
        coordinates.units = "angstrom"
        types = ds.createVariable("atom_types", "i4", ("atom",))
        time = ds.createVariable("time", "f4", ("frame",))
        time.units = "picosecond"
        for k in range(frames):
            time[k] = k
            if write:
                coordinates[k] = np.zeros((n_atoms, 3))
                types[:] = 32
    return path


def test_netcdf4_headers_declaring_more_atoms_than_the_file_holds_are_refused(tmp_path):
    for zlib in (False, True):  # the fault pass's reproducer: 30 kB declaring 1e9 atoms took 11 GiB
        path = _netcdf(tmp_path / f"bomb{zlib}.nc", 10**9, zlib=zlib, write=False)
        assert path.stat().st_size < 40_000
        peak, raised = _peak_mib(lambda: list(read_frames(path)))
        assert isinstance(raised, TrajectoryFormatError), raised
        assert "the header declares 1 frame of 1000000000 atoms, whose coordinates (12000000000 bytes" in str(raised)
        assert ("deflated to at least 11627907" in str(raised)) == zlib and peak < 20
    path = _netcdf(tmp_path / "many.nc", 0, frames=3, write=False)  # frames of no atoms: each holds one atom's worth
    list(read_frames(path))
    valid = _netcdf(tmp_path / "valid.nc", 100, zlib=True, frames=2)
    assert len(list(read_frames(valid))) == 2


def test_netcdf_frames_that_cannot_fit_in_memory_are_refused_before_reading(tmp_path, monkeypatch):
    valid = _netcdf(tmp_path / "valid.nc", 1000, frames=2)
    monkeypatch.setattr(_common, "_available_memory", lambda: 1 << 14)
    with pytest.raises(TrajectoryFormatError, match=r"valid.nc: frame 0: 1000 atoms would take at least 62.5 KiB in "
                       r"memory, more than the 16.0 KiB available"):
        list(read_frames(valid))


# --------------------------------------------------------------------------- small corners


@pytest.mark.parametrize("comment, message", [
    ('Lattice="6 0 0 12 0 0 0 0 6" Properties=species:S:1:pos:R:3', r"line 2: the periodic cell vectors .* are \(nearly\) "
     "linearly dependent"),
    ('Lattice="6 0 0 0 6 0 0 0 6" Properties=species:S:1:pos:R:3 time_ps=nan', "line 2: time_ps= must be a finite number, "
     "found 'nan'"),
    ('Lattice="6 0 0 0 6 0 0 0 6" Properties=species:S:1:pos:R:3 time_fs=-inf', "line 2: time_fs= must be a finite"),
    ('Lattice="6 0 0 0 6 0 0 0 6" Properties=species:S:1:pos:R:3 time_ps=1_0', "line 2: time_ps= is not a number"),
    ('Properties=Z:I:1:pos:R:3', r"line 4: atomic number Z = 0: dummy atoms 'X' have no element"),
    ('Lat\xe9tice="6 0 0 0 6 0 0 0 6" Properties=species:S:1:pos:R:3', r"line 2: the comment line is not UTF-8 text "
     r"\(byte 0xe9 at column 4"),
])
def test_extxyz_refuses_what_it_used_to_accept(tmp_path, comment, message):
    path = tmp_path / "run.xyz"
    atoms = "32 0 0 0\n0 1.5 1.5 1.5\n" if comment.startswith("Properties=Z") else "Ge 0 0 0\nTe 1.5 1.5 1.5\n"
    path.write_bytes(f"2\n{comment}\n{atoms}".encode("latin-1"))
    with pytest.raises(TrajectoryFormatError, match=f"run.xyz: frame 0, {message}"):
        list(read_frames(path))


def test_extxyz_slabs_and_plain_comments_still_read(tmp_path):
    path = tmp_path / "run.xyz"
    path.write_text('2\nLattice="6 0 0 0 6 0 0 0 0" pbc="T T F" time_ps=1.5 note="é in UTF-8"\nGe 0 0 0\nTe 1.5 1.5 1.5\n')
    frame = next(read_frames(path))
    assert frame.pbc.tolist() == [True, True, False] and frame.time == 1.5 and frame.info["note"] == "é in UTF-8"


def test_xdatcar_species_must_be_a_symbol_with_an_optional_potcar_suffix(tmp_path):
    text = "c\n1\n6 0 0\n0 6 0\n0 0 6\n{}\n1 1\nDirect configuration= 1\n0 0 0\n0.5 0.5 0.5\n"
    path = tmp_path / "XDATCAR"
    for species, numbers in (("Ge Te", [32, 52]), ("Ge_d Te/1a2b3c", [32, 52]), ("Ge_d_GW/9f Sb_pv", [32, 51]), ("ge TE", [32, 52])):
        path.write_text(text.format(species))
        assert next(read_frames(path)).numbers.tolist() == numbers
    for species in ("Ge Te\xe9", "Ge Te1", "Ge T-e"):
        path.write_bytes(text.format(species).encode("latin-1"))
        with pytest.raises(TrajectoryFormatError, match="line 6: unknown chemical species"):
            list(read_frames(path))


def test_poscar_non_finite_coordinates_warn_and_non_finite_cells_are_refused(tmp_path):
    text = "GeTe\n1.0\n6 0 0\n0 6 0\n0 0 6\nGe Te\n1 1\nDirect\n0 0 0\n{}\n"
    path = tmp_path / "POSCAR"
    path.write_text(text.format("nan 0.5 0.5"))
    with pytest.warns(GstorderWarning, match=r"POSCAR: frame 0: atom 1 has non-finite positions"):
        frame = next(read_frames(path))
    assert np.isnan(frame.positions[1]).all()
    path.write_text(text.format("0.5 0.5 0.5").replace("0 6 0", "0 nan 0"))
    with pytest.raises(TrajectoryFormatError, match=r"POSCAR: frame 0: cell entry \[1, 1\] is nan; the cell must be finite"):
        list(read_frames(path))
