"""Numba kernels that read whitespace-separated numeric tables straight from bytes (see :mod:`gstorder.io`).

Plain arrays in, plain arrays out; no validation here. Numbers come out
exactly as Python's ``float()`` reads them (correctly rounded): decimals of
at most 15 significant digits with a power of ten within ±22 by one exact
IEEE operation (Clinger's fast path, which covers LAMMPS' and ASE's default
formats); every other token (17-digit round-trip output, ``inf``, ``nan``,
huge exponents) is *deferred*: :func:`deferred_tokens` hands its characters
to NumPy's string-to-float conversion. Tokens ``float()`` would accept but
a reader should not (``1_0``, which ``float()`` reads as 10) are refused.
"""

import numpy as np
from numba import njit, prange

#: Exact powers of ten (10^0 .. 10^22 are exactly representable doubles).
_POW10 = np.array([10.0**k for k in range(23)])

#: Status codes of :func:`parse_table` (the row of the problem comes with them).
OK, BAD_NUMBER, TOO_FEW, TOO_MANY = 0, 1, 2, 3

#: Longest number that is not a plain decimal of up to 18 digits (characters; longer ones are refused).
TOKEN_WIDTH = 64

_FAST, _BAD, _DEFER = 0, 1, 2


@njit(cache=True, nogil=True, parallel=True)
def newlines(buf, start, stop, n_tasks):
    """Positions of the newline bytes of buf[start:stop], in order (counted, then stored, in parallel chunks)."""
    n_tasks = max(1, min(n_tasks, (stop - start) // 65536 + 1))
    counts = np.zeros(n_tasks + 1, np.int64)
    for t in prange(n_tasks):
        a, b = start + t * (stop - start) // n_tasks, start + (t + 1) * (stop - start) // n_tasks
        count = 0
        for i in range(a, b):
            count += np.int64(buf[i] == np.uint8(10))  # this spelling vectorises (3x)
        counts[t + 1] = count
    offsets = np.cumsum(counts)
    out = np.empty(offsets[-1], np.int64)
    for t in prange(n_tasks):
        a, b = start + t * (stop - start) // n_tasks, start + (t + 1) * (stop - start) // n_tasks
        k = offsets[t]
        for i in range(a, b):
            if buf[i] == 10:
                out[k] = i
                k += 1
    return out


@njit(cache=True, nogil=True)
def line_end(buf, n):
    """(offset after the n-th newline of ``buf``, n) or (-1, newlines in ``buf``), for skipping lines unread."""
    size = buf.shape[0]
    count = 0
    i = 0
    while i + 4096 <= size:  # whole pages counted at vector speed while the n-th newline is further on
        c = 0
        for q in range(i, i + 4096):
            c += np.int64(buf[q] == np.uint8(10))
        if count + c >= n:
            break
        count += c
        i += 4096
    while i < size:
        if buf[i] == 10:
            count += 1
            if count == n:
                return i + 1, count
        i += 1
    return -1, count


@njit(cache=True, nogil=True, inline="always")
def _is_space(c):
    return c == 32 or 9 <= c <= 13 and c != 10


@njit(cache=True, nogil=True, inline="always")
def _is_blank(c):
    """Whitespace as ``bytes.split()`` sees it (space, tab, newline, vertical tab, form feed, carriage return)."""
    return c == 32 or 9 <= c <= 13


@njit(cache=True, nogil=True, inline="always")
def _token_end(buf, pos, size):
    """End of the token at ``pos``: the next whitespace byte (control bytes such as NUL belong to the token)."""
    while pos < size and not _is_blank(buf[pos]):
        pos += 1
    return pos


@njit(cache=True, nogil=True, inline="always")
def _number(buf, a, size):
    """(kind, value, end) of the token starting at buf[a]: ``_FAST`` and its value, ``_DEFER`` or ``_BAD``.

    One pass over the characters; the token ends at the first whitespace byte.
    """
    i = a
    negative = False
    c = buf[i]
    if c == 45 or c == 43:  # - +
        negative = c == 45
        i += 1
    mantissa = 0
    n_digits = 0
    exp10 = 0
    fraction = 0
    while i < size:
        d = np.int64(buf[i]) - 48
        if 0 <= d <= 9:
            if n_digits < 18:
                mantissa = mantissa * 10 + d
                exp10 -= fraction
            else:
                exp10 += 1 - fraction
            n_digits += 1
        elif d == -2 and fraction == 0:  # the decimal point
            fraction = 1
        else:
            break
        i += 1
    if n_digits > 0:
        if i < size and (buf[i] == 101 or buf[i] == 69):  # e E
            i += 1
            e_negative = False
            if i < size and (buf[i] == 45 or buf[i] == 43):
                e_negative = buf[i] == 45
                i += 1
            e_start = i
            e = 0
            while i < size and 48 <= buf[i] <= 57:
                if e < 100000:
                    e = e * 10 + (np.int64(buf[i]) - 48)
                i += 1
            if i == e_start:
                return _BAD, 0.0, _token_end(buf, i, size)
            exp10 += -e if e_negative else e
        if i >= size or _is_blank(buf[i]):
            if n_digits <= 18 and mantissa <= 9007199254740992 and -22 <= exp10 <= 22:
                value = float(mantissa)
                value = value * _POW10[exp10] if exp10 >= 0 else value / _POW10[-exp10]
                return _FAST, -value if negative else value, i
            return (_DEFER, 0.0, i) if i - a <= TOKEN_WIDTH else (_BAD, 0.0, i)
        return _BAD, 0.0, _token_end(buf, i, size)
    # not a decimal: only the words float() knows (inf, infinity, nan, any case) are deferred
    b = _token_end(buf, i, size)
    if fraction != 0 or (b - i != 3 and b - i != 8):
        return _BAD, 0.0, b
    word = 0
    for q in range(i, b):
        c = buf[q] | 32  # lower case
        if not 97 <= c <= 122:
            return _BAD, 0.0, b
        word = word * 32 + (c - 96)
    inf = (9 * 32 + 14) * 32 + 6
    nan = (14 * 32 + 1) * 32 + 14
    infinity = ((((((9 * 32 + 14) * 32 + 6) * 32 + 9) * 32 + 14) * 32 + 9) * 32 + 20) * 32 + 25
    if word == inf or word == nan or word == infinity:
        return _DEFER, 0.0, b
    return _BAD, 0.0, b


@njit(cache=True, nogil=True)
def _parse_rows(buf, starts, first, last, kinds, out, text, collect, rows, cols, chars, n_found):
    """Rows first .. last - 1 of the table: (status, row of the first problem or -1, deferred tokens).

    Column c is a number (``kinds[c] == 0``, into the next column of
    ``out``) or text (``kinds[c] == 1``, its bytes NUL-padded into the next
    column of ``text``). With ``collect``, deferred numbers are written from
    ``n_found`` on into ``rows``, ``cols`` (columns of ``out``) and
    ``chars`` (NUL-padded) instead of only counted.
    """
    n_cols = kinds.shape[0]
    width = text.shape[2]
    size = buf.shape[0]
    deferred = 0
    for row in range(first, last):
        pos = starts[row]
        i_num = 0
        i_text = 0
        for col in range(n_cols):
            while pos < size and _is_space(buf[pos]):
                pos += 1
            if pos >= size or buf[pos] == 10:
                return TOO_FEW, row, deferred
            a = pos
            if kinds[col] == 1:
                pos = _token_end(buf, pos, size)
                if pos - a > width:
                    return BAD_NUMBER, row, deferred
                for q in range(a, pos):
                    text[row, i_text, q - a] = buf[q]
                for q in range(pos - a, width):
                    text[row, i_text, q] = 0
                i_text += 1
                continue
            kind, value, pos = _number(buf, a, size)
            if kind == _BAD:
                return BAD_NUMBER, row, deferred
            if kind == _DEFER:
                if collect:
                    k = n_found + deferred
                    rows[k] = row
                    cols[k] = i_num
                    for q in range(a, pos):
                        chars[k, q - a] = buf[q]
                deferred += 1
                value = np.nan
            out[row, i_num] = value
            i_num += 1
        while pos < size and _is_space(buf[pos]):
            pos += 1
        if pos < size and buf[pos] != 10:
            return TOO_MANY, row, deferred
    return OK, -1, deferred


@njit(cache=True, nogil=True, parallel=True)
def parse_table(buf, starts, kinds, out, text, n_tasks):
    """Read the lines beginning at ``starts`` in ``buf`` (uint8): numbers into ``out``, text into ``text``.

    ``kinds`` holds one entry per column, 0 (number) or 1 (text, at most
    ``text.shape[2]`` bytes). Returns (status, row, n_deferred): ``OK`` or
    the first problem found (``BAD_NUMBER``, ``TOO_FEW`` or ``TOO_MANY``
    columns) with its row, and how many numbers were deferred (left NaN in
    ``out``; see :func:`deferred_tokens`).
    """
    n = starts.shape[0]
    n_tasks = max(1, min(n_tasks, n))
    status = np.zeros(n_tasks, np.int64)
    where = np.full(n_tasks, -1, np.int64)
    deferred = np.zeros(n_tasks, np.int64)
    for t in prange(n_tasks):
        none_i = np.zeros(0, np.int64)
        s, w, d = _parse_rows(buf, starts, t * n // n_tasks, (t + 1) * n // n_tasks, kinds, out, text, False, none_i,
                              none_i, np.zeros((0, TOKEN_WIDTH), np.uint8), 0)
        status[t] = s
        where[t] = w
        deferred[t] = d
    for t in range(n_tasks):
        if status[t] != OK:
            return status[t], where[t], deferred.sum()
    return OK, -1, deferred.sum()


@njit(cache=True, nogil=True)
def deferred_tokens(buf, starts, kinds, out, text, count):
    """The ``count`` deferred numbers of a table :func:`parse_table` read: rows, columns of ``out``, characters."""
    rows = np.empty(count, np.int64)
    cols = np.empty(count, np.int64)
    chars = np.zeros((count, TOKEN_WIDTH), np.uint8)
    _parse_rows(buf, starts, 0, starts.shape[0], kinds, out, text, True, rows, cols, chars, 0)
    return rows, cols, chars


@njit(cache=True, nogil=True)
def first_non_integer(values):
    """Index of the first row of ``values`` (2-D) holding a non-integer, infinite, NaN or huge number; -1 if none."""
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            if not (abs(v) < 4.0e18 and v == np.floor(v)):
                return i
    return -1


@njit(cache=True, nogil=True)
def _put_int(out, pos, value):
    """Decimal digits of a non-negative int64 at out[pos:]; the position after them."""
    if value == 0:
        out[pos] = 48
        return pos + 1
    start = pos
    while value > 0:
        out[pos] = 48 + value % 10
        value //= 10
        pos += 1
    i, j = start, pos - 1
    while i < j:
        out[i], out[j] = out[j], out[i]
        i += 1
        j -= 1
    return pos


@njit(cache=True, nogil=True)
def format_rows(first_ints, words, word_lengths, values, decimals, out):
    """Rows ``int int ... word value value ...`` (space-separated, newline-ended) into ``out``; bytes written.

    ``first_ints`` (n, a) non-negative integers, ``words[i, :word_lengths[i]]``
    one text field, ``values`` (n, m) with |v| < 1e12 written with
    ``decimals`` digits after the point (rounded half away from zero), NaN
    and infinities as ``nan``, ``inf``, ``-inf``.
    """
    scale = 10.0**decimals
    pos = 0
    for i in range(values.shape[0]):
        for c in range(first_ints.shape[1]):
            pos = _put_int(out, pos, first_ints[i, c])
            out[pos] = 32
            pos += 1
        for q in range(word_lengths[i]):
            out[pos] = words[i, q]
            pos += 1
        for c in range(values.shape[1]):
            out[pos] = 32
            pos += 1
            v = values[i, c]
            if v != v:
                out[pos], out[pos + 1], out[pos + 2] = 110, 97, 110
                pos += 3
                continue
            if v < 0:
                out[pos] = 45
                pos += 1
                v = -v
            if v == np.inf:
                out[pos], out[pos + 1], out[pos + 2] = 105, 110, 102
                pos += 3
                continue
            units = np.int64(np.floor(v * scale + 0.5))
            whole = units // np.int64(scale)
            pos = _put_int(out, pos, whole)
            if decimals > 0:
                out[pos] = 46
                pos += 1
                fraction = units - whole * np.int64(scale)
                for d in range(decimals - 1, -1, -1):
                    out[pos + d] = 48 + fraction % 10
                    fraction //= 10
                pos += decimals
        out[pos] = 10
        pos += 1
    return pos
