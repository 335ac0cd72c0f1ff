"""Property-based tests of the trajectory readers: mutated files read as ASE reads them, or raise a gstorder error.

Valid files are written by ASE (extxyz, XDATCAR, NetCDF) or by gstorder's LAMMPS writers (text dumps, which ASE
reads too; binary dumps in LAMMPS's layout, which ASE does not read); hypothesis truncates them, flips bytes, edits
whitespace-separated tokens and deletes, repeats or blanks lines. Compressed (.gz, .bz2, .xz) copies are damaged
before or after compression and must read as their content does uncompressed, or raise a gstorder error. Whatever comes out, gstorder must either raise a
:class:`gstorder.errors.GstorderError` or read frames; frames it reads must agree with its own index (``len``,
random access) and, when ASE reads the same bytes, with ASE (numbers, cell, pbc, positions to 1e-12).

Where ASE is laxer than gstorder (it reads what gstorder refuses: extra columns, ``X`` atoms, words after a count)
nothing is compared, since gstorder raised. Where it differs on purpose the test says so:

* XDATCAR: ASE stops silently at the first header it cannot read (so it may return fewer frames), multiplies the
  cell by a negative scale factor (VASP reads it as the cell volume) and takes every configuration as Direct.
* Everywhere: ASE opens files as text, where a lone carriage return ends a line; to gstorder it is whitespace
  (as to LAMMPS and VASP). Files with one are not compared.
* LAMMPS dumps: ASE keeps the box origin in the positions; gstorder moves it to ``info["origin"]``. A
  ``BOX BOUNDS`` line without boundary labels (LAMMPS before 2009) is periodic to gstorder, not to ASE.
"""

import bz2
import gzip
import io
import lzma
import re
import signal
import struct
import warnings

import numpy as np
import pytest
from ase import Atoms
from ase import io as aseio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from conftest import require

from gstorder import Trajectory, read_frames
from gstorder.errors import GstorderError, GstorderWarning
from gstorder.io import write_lammps_dump

EXAMPLES = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                              HealthCheck.too_slow])

#: Tokens a corrupt or hand-edited file may hold in place of a valid one.
NASTY = [b"", b"nan", b"inf", b"-inf", b"-1", b"0", b"-0", b"1e400", b"1_0", b"0x10", b"1e", b"1.5", b"2", b"X",
         b"T", b"F", b"\xff\xfe", b"\xe9", b"99999999999999999999", b"1.0 0", b"ITEM:", b"ITEM: TIMESTEP", b"VEC1",
         b"Direct", b"izz", b"\t", b"\r", b"\x00", b'"', b"="]


def _atoms(rng, n=5, cell=6.0):
    atoms = Atoms(["Ge", "Sb", "Te", "Te", "Ge"][:n], positions=rng.random((n, 3)) * cell, cell=np.diag([cell] * 3)
                  + rng.normal(0, 0.3, (3, 3)) * np.tri(3, k=-1), pbc=True)
    return atoms


@st.composite
def mutations(draw, data: bytes):
    """``data`` after one to three random edits."""
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["truncate", "flip", "token", "line"]))
        if not data:
            break
        if kind == "truncate":
            data = data[: draw(st.integers(0, len(data) - 1))]
        elif kind == "flip":
            pos = draw(st.integers(0, len(data) - 1))
            data = data[:pos] + bytes([draw(st.integers(0, 255))]) + data[pos + 1 :]
        elif kind == "token":
            tokens = list(re.finditer(rb"\S+", data))
            if not tokens:
                continue
            m = tokens[draw(st.integers(0, len(tokens) - 1))]
            new = draw(st.one_of(st.sampled_from(NASTY), st.binary(max_size=4)))
            data = data[: m.start()] + new + data[m.end() :]
        else:
            lines = data.split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            edit = draw(st.sampled_from(["delete", "repeat", "blank"]))
            lines[i : i + 1] = {"delete": [], "repeat": [lines[i]] * 2, "blank": [b"", lines[i]]}[edit]
            data = b"\n".join(lines)
    return data


def read_or_refuse(path, **kwargs):
    """gstorder's frames of ``path`` (None if it raised a gstorder error), checked against its own index."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GstorderWarning)
        try:
            frames = list(read_frames(path, **kwargs))
        except GstorderError:
            return None
        traj = Trajectory(path, **kwargs)
        assert len(traj) == len(frames)
        last = traj[len(frames) - 1]
        np.testing.assert_array_equal(last.positions, frames[-1].positions)
        np.testing.assert_array_equal(last.cell, frames[-1].cell)
    return frames


class _AseTookTooLong(Exception):
    pass


def _give_up(signum, frame):
    raise _AseTookTooLong


def read_with_ase(path, format):
    """ASE's frames of ``path``, or None if it raises or runs for over 2 s (it loops ~forever over a count of 1e20)."""
    previous = signal.signal(signal.SIGALRM, _give_up)
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return aseio.read(path, index=":", format=format)
    except Exception:  # ASE raises whatever it meets
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def comparable(path) -> bool:
    """Whether ASE and gstorder see the same lines in the file (no lone carriage return)."""
    return re.search(rb"\r(?!\n)", path.read_bytes()) is None


def assert_same(frames, images, shift=False):
    assert len(frames) == len(images)
    for frame, atoms in zip(frames, images):
        np.testing.assert_array_equal(frame.numbers, atoms.numbers)
        np.testing.assert_array_equal(frame.pbc, atoms.pbc)
        np.testing.assert_allclose(frame.cell, atoms.cell.array, rtol=1e-12, atol=1e-12)
        positions = frame.positions + frame.info["origin"] if shift else frame.positions
        scale = max(1.0, float(np.abs(atoms.positions[np.isfinite(atoms.positions)]).max(initial=0.0)))
        np.testing.assert_allclose(positions, atoms.positions, rtol=1e-12, atol=1e-12 * scale)


# --------------------------------------------------------------------------- extxyz


@pytest.fixture(scope="module")
def extxyz_bytes(tmp_path_factory):
    rng = np.random.default_rng(1)
    frames = [_atoms(rng) for _ in range(3)]
    frames[1].pbc = [True, True, False]
    frames[2].set_momenta(rng.normal(0, 1, (5, 3)))
    path = tmp_path_factory.mktemp("xyz") / "valid.xyz"
    aseio.write(path, frames, format="extxyz")
    return path.read_bytes()


#: Extended XYZ corners ASE reads: cell vectors as VEC lines (a slab, periodic in x and y), integer and logical
#: columns, one pbc flag, a plain XYZ cluster.
CORNERS_XYZ = b"""3
slab
Ge 0.0 0.0 0.0
Te 1.5 1.5 1.5
Sb 3.0 0.5 2.5
VEC1 6.0 0.0 0.0
VEC2 0.5 6.0 0.0
3
Lattice="6.0 0.0 0.0 0.0 6.0 0.0 0.0 0.0 6.0" Properties=species:S:1:pos:R:3:tags:I:1:move_mask:L:1 pbc="T"
Ge 0.0 0.0 0.0 1 T
Te 1.5 1.5 1.5 2 F
Sb 3.0 0.5 2.5 3 T
2
cluster
Ge 0 0 0
Te 2.5 0 0
"""


@pytest.fixture(params=["ase", "corners"])
def xyz_variant(request, extxyz_bytes):
    return extxyz_bytes if request.param == "ase" else CORNERS_XYZ


def test_extxyz_valid_file_reads_as_ase_reads_it(xyz_variant, tmp_path):
    path = tmp_path / "run.xyz"
    path.write_bytes(xyz_variant)
    assert_same(read_or_refuse(path), read_with_ase(path, "extxyz"))


@EXAMPLES
@given(data=st.data())
def test_mutated_extxyz_reads_as_ase_or_raises(xyz_variant, tmp_path, data):
    path = tmp_path / "run.xyz"
    path.write_bytes(data.draw(mutations(xyz_variant)))
    frames = read_or_refuse(path)
    images = read_with_ase(path, "extxyz")
    if frames is not None and images is not None and comparable(path):
        assert_same(frames, images)


# --------------------------------------------------------------------------- LAMMPS text dump


@pytest.fixture(scope="module")
def dump_bytes(tmp_path_factory):
    rng = np.random.default_rng(2)
    frames = [_atoms(rng) for _ in range(3)]
    for atoms in frames:
        atoms.cell = np.diag(np.diag(atoms.cell))  # orthogonal: ASE and gstorder then agree without a rotation
        atoms.set_velocities(rng.normal(0, 0.01, (5, 3)))
    path = tmp_path_factory.mktemp("dump") / "valid.lammpstrj"
    write_lammps_dump(path, frames, {"c_pe": rng.random((3, 5))})
    return path.read_bytes()


#: A dump as LAMMPS writes it with ``dump_modify units yes time yes``: scaled positions, image flags, velocities,
#: types without elements (read with species=[1, 2, 3], the atomic numbers ASE gives types), a shifted box origin
#: (ASE leaves it out of scaled positions, as gstorder does) and a non-periodic z.
SCALED_DUMP = "".join(f"""ITEM: UNITS
metal
ITEM: TIMESTEP
{10 * k}
ITEM: TIME
{0.01 * k}
ITEM: NUMBER OF ATOMS
3
ITEM: BOX BOUNDS pp pp ff
-1.5 6.0
0.0 6.5
0.0 7.0
ITEM: ATOMS id type xs ys zs ix iy iz vx vy vz
3 2 0.5 0.5 0.{k + 1} 0 0 1 0.1 0.2 0.3
1 1 0.1 0.2 0.3 1 0 0 0.1 0.2 0.3
2 3 0.9 0.8 0.7 0 -1 0 0.1 0.2 0.3
""" for k in range(3)).encode()


@pytest.fixture(params=["writer", "scaled"])
def dump_variant(request, dump_bytes):
    """(bytes of a valid dump, whether ASE's positions include the box origin)."""
    return (dump_bytes, True) if request.param == "writer" else (SCALED_DUMP, False)


def test_dump_valid_file_reads_as_ase_reads_it(dump_variant, tmp_path):
    valid, shift = dump_variant
    path = tmp_path / "run.lammpstrj"
    path.write_bytes(valid)
    assert_same(read_or_refuse(path, species=[1, 2, 3]), read_with_ase(path, "lammps-dump-text"), shift=shift)


@EXAMPLES
@given(data=st.data())
def test_mutated_dump_reads_as_ase_or_raises(dump_variant, tmp_path, data):
    valid, shift = dump_variant
    path = tmp_path / "run.lammpstrj"
    path.write_bytes(data.draw(mutations(valid)))
    frames = read_or_refuse(path, species=[1, 2, 3])
    images = read_with_ase(path, "lammps-dump-text")
    if frames is not None and images is not None and comparable(path):
        if re.search(rb"^ITEM: BOX BOUNDS *\r?$", path.read_bytes(), re.M):  # no boundary labels
            for atoms in images:
                atoms.pbc = True
        assert_same(frames, images, shift=shift)


# --------------------------------------------------------------------------- LAMMPS binary dump


def binary_dump(frames, columns=("id", "type", "x", "y", "z")):
    """Frames (positions, cell diagonal) in the layout of LAMMPS 2021+ ``dump custom ... .bin`` (one chunk each)."""
    out = b""
    for step, atoms in enumerate(frames):
        n = len(atoms)
        names = " ".join(columns).encode()
        table = np.column_stack([np.arange(1, n + 1), np.searchsorted([32, 51, 52], atoms.numbers) + 1, atoms.positions])
        out += struct.pack("<q", -10) + b"DUMPCUSTOM" + struct.pack("<iiqqi", 1, 2, step, n, 0)
        out += struct.pack("<6i", 0, 0, 0, 0, 0, 0) + struct.pack("<6d", *[v for d in np.diag(atoms.cell) for v in (0.0, d)])
        out += struct.pack("<ii", len(columns), 0) + struct.pack("<b", 0)  # no units, no time
        out += struct.pack("<i", len(names)) + names + struct.pack("<i", 1)
        out += struct.pack("<i", table.size) + table.astype("<f8").tobytes()
    return out


@pytest.fixture(scope="module")
def binary_frames():
    rng = np.random.default_rng(3)
    frames = [_atoms(rng) for _ in range(3)]
    for atoms in frames:
        atoms.cell = np.diag(np.diag(atoms.cell))
    return frames


def test_binary_dump_valid_file_reads_the_frames(binary_frames, tmp_path):
    path = tmp_path / "run.bin"
    path.write_bytes(binary_dump(binary_frames))
    got = read_or_refuse(path, species=["Ge", "Sb", "Te"])
    assert_same(got, binary_frames)


@EXAMPLES
@given(data=st.data())
def test_mutated_binary_dump_reads_or_raises(binary_frames, tmp_path, data):
    valid = binary_dump(binary_frames)
    path = tmp_path / "run.bin"
    mutated = data.draw(mutations(valid))
    path.write_bytes(mutated)
    frames = read_or_refuse(path, species=["Ge", "Sb", "Te"])
    if frames is not None and len(mutated) < len(valid) and valid.startswith(mutated):
        # a truncation reads whole frames only: those before the cut
        assert_same(frames, binary_frames[: len(frames)])


# --------------------------------------------------------------------------- XDATCAR


@pytest.fixture(scope="module")
def xdatcar_bytes(tmp_path_factory):
    rng = np.random.default_rng(4)
    frames = [_atoms(rng) for _ in range(3)]
    path = tmp_path_factory.mktemp("xdatcar") / "XDATCAR"
    aseio.write(path, frames, format="vasp-xdatcar")
    return path.read_bytes()


def test_xdatcar_valid_file_reads_as_ase_reads_it(xdatcar_bytes, tmp_path):
    path = tmp_path / "XDATCAR"
    path.write_bytes(xdatcar_bytes)
    assert_same(read_or_refuse(path), read_with_ase(path, "vasp-xdatcar"))


def _negative_scale(data: bytes) -> bool:
    """Whether a header's scale line (one number after a comment line) is negative: a volume to VASP, a factor to ASE."""
    lines = data.split(b"\n")
    return any(line.strip() and not line.strip()[:1].isdigit() and b"configuration" not in line
               and len(after.split()) == 1 and after.strip().startswith(b"-") for line, after in zip(lines, lines[1:]))


@EXAMPLES
@given(data=st.data())
def test_mutated_xdatcar_reads_as_ase_or_raises(xdatcar_bytes, tmp_path, data):
    path = tmp_path / "XDATCAR"
    mutated = data.draw(mutations(xdatcar_bytes))
    path.write_bytes(mutated)
    frames = read_or_refuse(path)
    images = read_with_ase(path, "vasp-xdatcar")
    if frames is None or images is None or _negative_scale(mutated) or not comparable(path):
        return
    configurations = mutated.count(b"Direct configuration=")
    if len(images) < len(frames) and configurations < len(frames):
        images = images + frames[len(images):]  # ASE stopped at a configuration line it does not recognise
    assert_same(frames, images)


# --------------------------------------------------------------------------- NetCDF


@pytest.fixture(scope="module")
def netcdf_bytes(tmp_path_factory):
    require("netCDF4", "netcdf4")
    rng = np.random.default_rng(5)
    path = tmp_path_factory.mktemp("nc") / "valid.nc"
    aseio.write(path, [_atoms(rng) for _ in range(3)], format="netcdftrajectory")
    return path.read_bytes()


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_truncated_netcdf_reads_or_raises(netcdf_bytes, tmp_path, data):
    path = tmp_path / "run.nc"
    path.write_bytes(netcdf_bytes[: data.draw(st.integers(0, len(netcdf_bytes) - 1))])
    read_or_refuse(path)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_netcdf_with_flipped_header_bytes_reads_or_raises(netcdf_bytes, tmp_path, data):
    """Byte flips in the classic header: SciPy's pure-Python parse (negative counts refused) checks it before the netCDF
    C library, which crashed the process (segfault) or touched 20 GB on such headers."""
    header = netcdf_bytes.index(b"coordinates") + 200  # the header ends a little after the last variable's name
    flipped = bytearray(netcdf_bytes)
    for _ in range(data.draw(st.integers(1, 3))):
        flipped[data.draw(st.integers(0, header))] = data.draw(st.integers(0, 255))
    path = tmp_path / "run.nc"
    path.write_bytes(bytes(flipped))
    read_or_refuse(path)


# --------------------------------------------------------------------------- compressed files

#: How each compressed suffix is written and read back (the reader's own decompressors, as a stream).
PACK = {".gz": (gzip.compress, gzip.open), ".bz2": (bz2.compress, bz2.open), ".xz": (lzma.compress, lzma.open)}


@pytest.fixture(scope="module")
def plain_files(extxyz_bytes, dump_bytes, xdatcar_bytes, binary_frames):
    """(file name, valid bytes, reader options) of each text format and the binary dump."""
    species = {"species": ["Ge", "Sb", "Te"]}
    return [("run.xyz", extxyz_bytes, {}), ("run.lammpstrj", dump_bytes, {"species": [1, 2, 3]}),
            ("XDATCAR", xdatcar_bytes, {}), ("run.bin", binary_dump(binary_frames), species)]


def _decompressed(data, suffix):
    """The bytes a decompressing reader sees in ``data``, or None if the stream is damaged."""
    try:
        with PACK[suffix][1](io.BytesIO(data), "rb") as fh:
            return fh.read()
    except Exception:  # EOFError, zlib.error, BadGzipFile, LZMAError, OSError: what the readers must turn into errors
        return None


@EXAMPLES
@given(data=st.data())
def test_mutated_compressed_files_read_as_their_content_or_raise(plain_files, tmp_path, data):
    """Damage before compression (the text) or after (the stream): a compressed file reads exactly as its content does
    uncompressed, or raises a gstorder error (never EOFError, zlib.error, BadGzipFile, LZMAError or OSError)."""
    name, valid, options = data.draw(st.sampled_from(plain_files))
    suffix = data.draw(st.sampled_from(sorted(PACK)))
    compress = PACK[suffix][0]
    if data.draw(st.booleans()):
        packed = compress(data.draw(mutations(valid)))
    else:
        packed = data.draw(mutations(compress(valid)))
    path = tmp_path / f"{name}{suffix}"
    path.write_bytes(packed)
    frames = read_or_refuse(path, **options)  # only gstorder errors pass
    content = _decompressed(packed, suffix)
    if content is None:
        assert frames is None  # a damaged stream is never read as if it were whole
        return
    plain = tmp_path / name
    plain.write_bytes(content)
    expected = read_or_refuse(plain, **options)
    assert (frames is None) == (expected is None)
    for frame, other in zip(frames or [], expected or []):
        np.testing.assert_array_equal(frame.numbers, other.numbers)
        np.testing.assert_array_equal(frame.positions, other.positions)
        np.testing.assert_array_equal(frame.cell, other.cell)
        np.testing.assert_array_equal(frame.pbc, other.pbc)
