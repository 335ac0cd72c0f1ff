"""MD checkpoints as data only: an ``.npz`` archive (read with ``allow_pickle=False``) of two byte arrays,
``meta`` (UTF-8 JSON holding every value) and ``data`` (the raw bytes of every NumPy array, which ``meta`` locates
by dtype, shape and offset).

Nothing in a checkpoint is ever executed: a crafted file can be refused, never run. Python values keep their types
(tuples, dicts with any keys, NumPy scalars, non-finite floats); arrays of Python objects or of structured dtypes
are refused when written. Checkpoints of gstorder before this format were pickles; they are recognised by their
first byte and refused unread.
"""

from __future__ import annotations

import json
import math
import zipfile

import numpy as np

from ..errors import ArgumentTypeError

#: Python's pickles (protocol 2 and later, as gstorder wrote them) start with this byte; a zip archive with b"PK".
PICKLE_MAGIC = b"\x80"
#: Array kinds a checkpoint holds: booleans, integers, floats, complex numbers, bytes and text.
_KINDS = "biufcSU"


class _Encoder:
    """Turns a tree of plain values and arrays into JSON-ready values, collecting the arrays in order."""

    def __init__(self):
        self.arrays = []

    def __call__(self, value, where="value"):
        if value is None or type(value) in (bool, str, int):
            return value
        if type(value) is float:
            return value if math.isfinite(value) else {"float": repr(value)}  # JSON has no NaN or infinity
        if isinstance(value, (np.ndarray, np.generic)):
            array = np.asarray(value)
            if array.dtype.kind not in _KINDS or array.dtype.fields is not None:
                raise ArgumentTypeError(f"{where}: an array of dtype {array.dtype} cannot be stored in a checkpoint "
                                        f"(only numbers, booleans, bytes and text)")
            self.arrays.append(array)
            return {"array" if isinstance(value, np.ndarray) else "scalar": len(self.arrays) - 1}
        if type(value) in (list, tuple):
            items = [self(v, f"{where}[{k}]") for k, v in enumerate(value)]
            return items if type(value) is list else {"tuple": items}
        if type(value) is dict:
            return {"dict": [[self(k, f"{where} key"), self(v, f"{where}[{k!r}]")] for k, v in value.items()]}
        raise ArgumentTypeError(f"{where}: a {type(value).__module__}.{type(value).__qualname__} cannot be stored in a "
                                "checkpoint; numbers, strings, booleans, None, numpy arrays and lists, tuples and "
                                "dicts of them can (return e.g. atoms.positions.copy() rather than atoms)")


def encode(value, where="value"):
    """(JSON-ready tree, arrays in order) of ``value``; ArgumentTypeError naming ``where`` for what cannot be stored."""
    encoder = _Encoder()
    return encoder(value, where), encoder.arrays


def storable(value, where="value") -> None:
    """Raise ArgumentTypeError (naming ``where``) if ``value`` cannot be stored in a checkpoint."""
    encode(value, where)


def write(fh, value) -> None:
    """Write ``value`` (a tree accepted by :func:`encode`) to the open binary file ``fh`` as an ``.npz`` archive."""
    tree, arrays = encode(value)
    table, offset = [], 0
    for array in arrays:
        table.append([array.dtype.str, list(array.shape), offset])
        offset += -(-array.nbytes // 8) * 8  # each array 8-byte aligned
    data = np.zeros(offset, np.uint8)
    for array, (_, _, start) in zip(arrays, table):
        data[start : start + array.nbytes] = np.frombuffer(np.ascontiguousarray(array).tobytes(), np.uint8)
    meta = np.frombuffer(json.dumps({"tree": tree, "arrays": table}, allow_nan=False).encode(), np.uint8)
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as archive:
        for name, array in (("meta", meta), ("data", data)):
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def read(path):
    """The value :func:`write` stored in ``path``; ValueError (or a zip/OS error) for anything else.

    The archive's members are checked against their sizes before they are
    allocated, and each array against the data member, so a crafted file
    cannot reserve more memory than it holds.
    """
    with open(path, "rb") as fh:
        if fh.read(1) == PICKLE_MAGIC:
            raise PickledCheckpoint
        total = fh.seek(0, 2)
    members = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.filename not in ("meta.npy", "data.npy") or info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"unexpected member {info.filename[:80]!r}")
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version not in _HEADERS:
                    raise ValueError(f"member {info.filename[:80]!r} has .npy version {version}")
                shape, _, dtype = _HEADERS[version](member)
                size = math.prod(shape) * dtype.itemsize
                if dtype != np.uint8 or len(shape) != 1 or size > min(info.file_size, total):
                    raise ValueError(f"member {info.filename[:80]!r} holds {dtype} {shape} in {info.file_size} bytes")
            with archive.open(info) as member:
                members[info.filename[:-4]] = np.lib.format.read_array(member, allow_pickle=False)
    if set(members) != {"meta", "data"}:
        raise ValueError(f"members {sorted(members)}, not meta and data")
    meta = json.loads(members["meta"].tobytes().decode())
    arrays = [_array(members["data"], *entry) for entry in meta["arrays"]]
    return _decode(meta["tree"], arrays)


def _array(data, dtype, shape, offset):
    """An array of the data member, checked to lie within it."""
    dtype = np.dtype(str(dtype))
    shape = tuple(shape)
    if dtype.kind not in _KINDS or dtype.fields is not None or not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError(f"array entry {dtype} {shape}")
    nbytes = math.prod(shape) * dtype.itemsize
    if type(offset) is not int or offset < 0 or offset + nbytes > len(data):
        raise ValueError(f"array entry at {offset} of {nbytes} bytes beyond the {len(data)} bytes of data")
    return data[offset : offset + nbytes].view(dtype).reshape(shape).copy() if nbytes else np.empty(shape, dtype)


def _decode(tree, arrays):
    if isinstance(tree, list):
        return [_decode(v, arrays) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if len(tree) != 1:
        raise ValueError(f"unexpected entry {str(tree)[:80]}")
    ((kind, value),) = tree.items()
    if kind == "tuple":
        return tuple(_decode(v, arrays) for v in value)
    if kind == "dict":
        return {_key(_decode(k, arrays)): _decode(v, arrays) for k, v in value}
    if kind == "float":
        if value not in ("nan", "inf", "-inf"):
            raise ValueError(f"unexpected float {str(value)[:80]!r}")
        return float(value)
    if kind in ("array", "scalar") and type(value) is int and 0 <= value < len(arrays):
        return arrays[value] if kind == "array" else arrays[value][()]
    raise ValueError(f"unexpected entry {str(tree)[:80]}")


def _key(key):
    """A decoded dict key (lists and arrays cannot be keys, and no key was one)."""
    if isinstance(key, (list, dict, np.ndarray)):
        raise ValueError(f"unexpected dict key {str(key)[:80]}")
    return key


#: Readers of the ``.npy`` header versions :func:`write` may produce.
_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


class PickledCheckpoint(Exception):
    """The file is a pickle: a checkpoint of gstorder before checkpoints became data only (or a crafted file)."""
