"""Argument checks at the public boundary: one place that turns bad values into clear, specific errors.

Each public function validates its arguments once, on entry, with these
helpers; kernels below trust what they get. Every helper names the argument
and the offending value, and raises :class:`~gstorder.errors.InvalidArgumentError`
(a ``ValueError``) or :class:`~gstorder.errors.ArgumentTypeError` (a
``TypeError``).
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

from .errors import ArgumentTypeError, InvalidArgumentError

__all__ = ["real", "positive", "non_negative", "count", "choice", "flag", "frame_index", "finite_array", "strings", "species",
           "cutoff", "integer_pair", "renamed", "index_text"]


def real(name: str, value, *, unit: str = "", low=None, high=None, low_open: bool = False, high_open: bool = False,
         allow_inf: bool = False) -> float:
    """``value`` as a float, refusing non-numbers, NaN, infinities (unless ``allow_inf``) and values outside [low, high].

    ``low_open``/``high_open`` make the bound exclusive. ``unit`` (e.g. ``"Å"``)
    is named in the message.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)) or isinstance(value, np.complexfloating):
        raise ArgumentTypeError(f"{name} must be a real number{_in(unit)}, got {type(value).__name__} {value!r}")
    try:
        value = float(value)
    except OverflowError:  # an int beyond double range
        raise InvalidArgumentError(f"{name} is too large for a double{_in(unit)}: {str(value)[:20]}...") from None
    if np.isnan(value) or (np.isinf(value) and not allow_inf):
        raise InvalidArgumentError(f"{name} must be a finite number{_in(unit)}, got {value}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        if low == 0 and high is None:
            want = "positive" if low_open else "≥ 0"
        else:
            lo = "" if low is None else f"{'>' if low_open else '≥'} {low:g}"
            hi = "" if high is None else f"{'<' if high_open else '≤'} {high:g}"
            want = " and ".join(x for x in (lo, hi) if x)
        raise InvalidArgumentError(f"{name} must be {want}{_in(unit)}, got {value}")
    return value


def positive(name: str, value, *, unit: str = "") -> float:
    """A finite number > 0."""
    return real(name, value, unit=unit, low=0.0, low_open=True)


def non_negative(name: str, value, *, unit: str = "") -> float:
    """A finite number ≥ 0."""
    return real(name, value, unit=unit, low=0.0)


def count(name: str, value, *, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer ≥ ``minimum`` (and ≤ ``maximum``); floats are accepted only when whole (``2.0``, not ``2.5``)."""
    if isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, (numbers.Real, np.floating)) and not isinstance(value, (numbers.Integral, np.integer)):
        if not np.isfinite(value) or float(value) != int(value):
            raise InvalidArgumentError(f"{name} must be a whole number, got {value}")
        value = int(value)
    try:
        value = operator.index(value)
    except TypeError:
        raise ArgumentTypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        if maximum is None and minimum in (0, 1):
            want = "a positive integer" if minimum == 1 else "a non-negative integer"
        else:
            want = f"an integer ≥ {minimum}" + ("" if maximum is None else f" and ≤ {maximum}")
        raise InvalidArgumentError(f"{name} must be {want}, got {value}")
    return value


def choice(name: str, value, options):
    """``value`` if it is one of ``options``, else an error listing them."""
    options = tuple(options)
    try:
        ok = value in options
    except TypeError:  # unhashable
        ok = False
    if not ok:
        raise InvalidArgumentError(f"{name}={value!r}; choose one of {', '.join(map(repr, options))}")
    return value


def flag(name: str, value) -> bool:
    """A boolean switch: ``True``/``False`` (NumPy booleans too), not a string or a number that merely looks true."""
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def frame_index(name: str, value):
    """A frame selection: None, an integer (negative counts from the end) or a slice of integers with a positive step.

    As in Python slicing, bounds must be integers (``2.0`` is refused, not rounded).
    """
    if value is None:
        return None
    if not isinstance(value, slice):
        return _integer(name, value)
    start, stop, step = (None if x is None else _integer(f"{name}.{part}", x)
                         for part, x in (("start", value.start), ("stop", value.stop), ("step", value.step)))
    if step is not None and step <= 0:
        raise InvalidArgumentError(f"{name} step must be positive, got {step}")
    return slice(start, stop, step)


def _integer(name: str, value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ArgumentTypeError(f"{name} must be an integer or a slice of integers, got {type(value).__name__} {value!r}")
    return int(value)


def finite_array(name: str, value, *, shape=None, dtype=float, unit: str = "") -> np.ndarray:
    """``value`` as an array of ``dtype`` with every entry finite (and of ``shape``, where -1 is any length)."""
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name} must be an array of numbers{_in(unit)}, got {type(value).__name__}") from None
    if shape is not None and (array.ndim != len(shape) or any(s not in (-1, n) for s, n in zip(shape, array.shape))):
        want = "×".join("N" if s == -1 else str(s) for s in shape)
        raise InvalidArgumentError(f"{name} must have shape {want}, got {array.shape}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        raise InvalidArgumentError(f"{name} must be finite{_in(unit)}: entry {tuple(int(i) for i in bad)} is "
                                   f"{array[tuple(bad)]}")
    return array


def _in(unit: str) -> str:
    return f" (in {unit})" if unit else ""


def strings(name: str, value) -> list:
    """One string or a list of strings, as a list."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ArgumentTypeError(f"{name} must be a string or a list of strings, got {type(value).__name__} {value!r}")
    return list(value)


def species(name: str, value):
    """A chemical symbol or a list of them (checked against the periodic table), as given."""
    from .frames import species_numbers  # local: frames imports this module

    species_numbers(strings(name, value))
    return value


def cutoff(name: str, value):
    """A cut-off in Å, or a per-species-pair table ``{("Ge", "Te"): 3.2}`` (keys also as ``"Ge-Te"``), checked."""
    if not isinstance(value, dict):
        return positive(name, value, unit="Å")
    from .frames import species_numbers  # local: frames imports this module

    table = {}
    for key, v in value.items():
        pair = tuple(key.split("-")) if isinstance(key, str) else key
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(s, str) for s in pair)):
            raise InvalidArgumentError(f"{name}: per-pair cut-off keys must be pairs of species such as ('Ge', 'Te') "
                                       f"or 'Ge-Te', got {key!r}")
        species_numbers(pair)
        table[pair] = positive(f"{name}[{key!r}]", v, unit="Å")
    if not table:
        raise InvalidArgumentError(f"{name}: a per-pair cut-off table needs at least one pair")
    return table


def integer_pair(name: str, value) -> tuple:
    """Two positive integers (e.g. pixels along two axes)."""
    if isinstance(value, str) or not hasattr(value, "__len__") or len(value) != 2:
        raise InvalidArgumentError(f"{name} must be two positive integers, got {value!r}")
    return tuple(count(f"{name}[{k}]", v) for k, v in enumerate(value))


def renamed(new: str, value, old: str, old_value):
    """``value``, or ``old_value`` given under the deprecated name ``old`` (with a warning naming ``new``)."""
    if old_value is None:
        return value
    import warnings

    from .errors import GstorderDeprecationWarning

    if value is not None:
        raise InvalidArgumentError(f"give {new}= only ({old}= is its deprecated spelling)")
    warnings.warn(f"{old} is deprecated; spell it {new}", GstorderDeprecationWarning, stacklevel=3)
    return old_value


def permutation(name: str, value, n: int) -> np.ndarray:
    """``value`` as a permutation of range(n) (kernels write where it says: anything else would corrupt memory)."""
    value = np.asarray(value)
    if value.shape != (n,) or value.dtype.kind not in "iu" or not np.array_equal(np.sort(value), np.arange(n)):
        raise InvalidArgumentError(f"{name} must be a permutation of range({n})")
    return value.astype(np.int64, copy=False)


def index_text(index) -> str:
    """A frame selection as a user types it: ``5:2``, ``0:20:4``, ``3`` or ``all`` (for messages)."""
    if index is None:
        return "all"
    if isinstance(index, slice):
        text = ":".join("" if x is None else str(x) for x in (index.start, index.stop, index.step))
        return text[:-1] if text.endswith(":") and index.step is None else text
    return str(index)
