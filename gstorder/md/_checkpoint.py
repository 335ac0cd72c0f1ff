"""MD checkpoints as data only: one ``.npz`` archive of plain arrays (read with ``allow_pickle=False``) whose
``meta`` entry is UTF-8 JSON holding everything else.

Nothing in a checkpoint is ever executed: a crafted file can be refused, never run. Python values are stored as
JSON with their types kept (tuples, dicts with any keys, numpy scalars), numpy arrays as ``.npy`` members.
Checkpoints of gstorder before this format were pickles; they are recognised by their first byte and refused unread.
"""

from __future__ import annotations

import json
import math
import zipfile

import numpy as np

from ..errors import ArgumentTypeError

#: The ``.npy`` member holding the JSON part.
_META = "meta"
#: Python's pickles (protocol 2 and later, as gstorder wrote them) start with this byte; a zip archive with b"PK".
PICKLE_MAGIC = b"\x80"


class _Encoder:
    """Turns a tree of plain values and arrays into JSON-ready values, collecting the arrays by name."""

    def __init__(self):
        self.arrays = {}

    def __call__(self, value, where="value"):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and type(value) is int:
            return value
        if type(value) is float:
            return value if math.isfinite(value) else {"float": repr(value)}  # JSON has no NaN or infinity
        if isinstance(value, (np.ndarray, np.generic)):
            array = np.asarray(value)
            if array.dtype.hasobject:
                raise ArgumentTypeError(f"{where}: an array of Python objects cannot be stored in a checkpoint")
            name = f"a{len(self.arrays)}"
            self.arrays[name] = array
            return {"array" if isinstance(value, np.ndarray) else "scalar": name}
        if type(value) in (list, tuple):
            items = [self(v, f"{where}[{k}]") for k, v in enumerate(value)]
            return items if type(value) is list else {"tuple": items}
        if type(value) is dict:
            return {"dict": [[self(k, f"{where} key"), self(v, f"{where}[{k!r}]")] for k, v in value.items()]}
        raise ArgumentTypeError(f"{where}: a {type(value).__module__}.{type(value).__qualname__} cannot be stored in a "
                                "checkpoint; numbers, strings, booleans, None, numpy arrays and lists, tuples and "
                                "dicts of them can (return e.g. atoms.positions.copy() rather than atoms)")


def encode(value, where="value"):
    """(JSON-ready tree, arrays by name) of ``value``; ArgumentTypeError naming ``where`` for what cannot be stored."""
    encoder = _Encoder()
    return encoder(value, where), encoder.arrays


def storable(value, where="value") -> None:
    """Raise ArgumentTypeError (naming ``where``) if ``value`` cannot be stored in a checkpoint."""
    encode(value, where)


def _decode(tree, arrays):
    if isinstance(tree, list):
        return [_decode(v, arrays) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if len(tree) != 1:
        raise ValueError(f"unexpected entry {str(tree)[:80]}")
    (kind, value), = tree.items()
    if kind == "tuple":
        return tuple(_decode(v, arrays) for v in value)
    if kind == "dict":
        return {_freeze(_decode(k, arrays)): _decode(v, arrays) for k, v in value}
    if kind == "float":
        if value not in ("nan", "inf", "-inf"):
            raise ValueError(f"unexpected float {str(value)[:80]!r}")
        return float(value)
    if kind == "array":
        return arrays[value]
    if kind == "scalar":
        return arrays[value][()]
    raise ValueError(f"unexpected entry kind {kind[:80]!r}")


def _freeze(key):
    """A decoded dict key (lists cannot be keys, and no key was one)."""
    if isinstance(key, (list, dict, np.ndarray)):
        raise ValueError(f"unexpected dict key {str(key)[:80]}")
    return key


def write(fh, value) -> None:
    """Write ``value`` (a tree accepted by :func:`encode`) to the open binary file ``fh`` as an ``.npz`` archive."""
    tree, arrays = encode(value)
    meta = np.frombuffer(json.dumps(tree, allow_nan=False).encode(), np.uint8)
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as archive:
        for name, array in {_META: meta, **arrays}.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def read(path):
    """The value :func:`write` stored in ``path``; ValueError (or a zip/OS error) for anything else.

    Each member's array header is checked against the member's size before
    the array is allocated, so a crafted header cannot reserve more memory
    than the file holds.
    """
    with open(path, "rb") as fh:
        if fh.read(1) == PICKLE_MAGIC:
            raise PickledCheckpoint
        total = fh.seek(0, 2)
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy") or info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"unexpected member {info.filename[:80]!r}")
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version not in _HEADERS:
                    raise ValueError(f"member {info.filename[:80]!r} has .npy version {version}")
                shape, _, dtype = _HEADERS[version](member)
                if dtype.hasobject:
                    raise ValueError(f"member {info.filename[:80]!r} holds Python objects")
                size = math.prod(shape) * dtype.itemsize
                if size > min(info.file_size, total):
                    raise ValueError(f"member {info.filename[:80]!r} declares {size} bytes in "
                                     f"{min(info.file_size, total)}")
            with archive.open(info) as member:
                arrays[info.filename[:-4]] = np.lib.format.read_array(member, allow_pickle=False)
    meta = arrays.pop(_META, None)
    if meta is None or meta.dtype != np.uint8 or meta.ndim != 1:
        raise ValueError("no meta entry")
    return _decode(json.loads(meta.tobytes().decode()), arrays)


#: Readers of the ``.npy`` header versions :func:`write` may produce.
_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


class PickledCheckpoint(Exception):
    """The file is a pickle: a checkpoint of gstorder before checkpoints became data only (or a crafted file)."""
