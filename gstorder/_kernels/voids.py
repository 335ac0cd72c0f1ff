"""Numba kernels of the cavity analysis (see :mod:`gstorder.voids`).

The grid has n1 × n2 × n3 points at fractional coordinates
((i + ½)/n1, (j + ½)/n2, (k + ½)/n3) of the (possibly triclinic) cell. Each
column (i, j) along the third cell vector is a bitset; an atom covers, in
every column its sphere of radius ``probe`` crosses, one interval of k
(the roots of a quadratic), set bit by bit word-wise. The columns of a slab
of i are filled atom by atom, then read as runs of uncovered points
(``i, j, start, length``), so only the runs outlive the slab. Runs are
joined into cavities by union-find across the faces of neighbouring
columns and across the periodic end of each column.
"""

import numpy as np
from numba import njit

from .unionfind import find, union

ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(cache=True, nogil=True)
def _set_bits(bits, r, j, lo, hi):
    """Set bits lo..hi (inclusive) of column (r, j)."""
    w0, w1 = lo >> 6, hi >> 6
    b0, b1 = lo & 63, hi & 63
    if w0 == w1:
        bits[r, j, w0] |= ((ALL >> np.uint64(63 - (b1 - b0))) << np.uint64(b0))
        return
    bits[r, j, w0] |= ALL << np.uint64(b0)
    for w in range(w0 + 1, w1):
        bits[r, j, w] = ALL
    bits[r, j, w1] |= ALL >> np.uint64(63 - b1)


@njit(cache=True, nogil=True)
def slab_runs(i0, i1, frac, order, sorted_s1, cell, n1, n2, n3, probe):
    """Runs of uncovered grid points in the columns i0 <= i < i1, every j.

    ``frac`` are the atoms' fractional coordinates in [0, 1), ``order`` their
    indices sorted by the first one (``sorted_s1``). Returns an (m, 4) array
    of (i, j, k_start, length) in column order.
    """
    n_words = (n3 + 63) // 64
    rows = i1 - i0
    bits = np.zeros((rows, n2, n_words), dtype=np.uint64)
    tail = n3 - 64 * (n_words - 1)  # bits used in the last word; the rest count as covered
    if tail < 64:
        for r in range(rows):
            for j in range(n2):
                bits[r, j, n_words - 1] = ALL << np.uint64(tail)
    inv = np.linalg.inv(cell)
    e1 = probe * np.sqrt(inv[0, 0] ** 2 + inv[1, 0] ** 2 + inv[2, 0] ** 2)  # fractional half-extent of a sphere
    dc0, dc1, dc2 = cell[2, 0] / n3, cell[2, 1] / n3, cell[2, 2] / n3
    a = dc0 * dc0 + dc1 * dc1 + dc2 * dc2
    r2 = probe * probe
    # B with its component along C removed: the columns (lines along C) a sphere crosses, for a given i, form one
    # interval of the second fractional coordinate
    c_len2 = a * n3 * n3
    along = (cell[1, 0] * cell[2, 0] + cell[1, 1] * cell[2, 1] + cell[1, 2] * cell[2, 2]) / c_len2
    bp0, bp1, bp2 = cell[1, 0] - along * cell[2, 0], cell[1, 1] - along * cell[2, 1], cell[1, 2] - along * cell[2, 2]
    bp2_len = bp0 * bp0 + bp1 * bp1 + bp2 * bp2
    lo_f, hi_f = i0 / n1 - e1, i1 / n1 + e1  # fractional window (first axis) of the atoms that reach the slab
    half3 = 0.5 / n3
    # the atoms (and first-axis images) that reach the slab, in order of their second coordinate: consecutive atoms then
    # mark neighbouring columns, which stay in cache
    n_cand = 0
    for t1 in range(int(np.floor(lo_f)) - 1, int(np.ceil(hi_f)) + 1):
        n_cand += np.searchsorted(sorted_s1, hi_f - t1, side="right") - np.searchsorted(sorted_s1, lo_f - t1)
    cand = np.empty(n_cand, dtype=np.int64)
    cand_t = np.empty(n_cand, dtype=np.int64)
    key = np.empty(n_cand)
    c = 0
    for t1 in range(int(np.floor(lo_f)) - 1, int(np.ceil(hi_f)) + 1):
        for q in range(np.searchsorted(sorted_s1, lo_f - t1), np.searchsorted(sorted_s1, hi_f - t1, side="right")):
            cand[c], cand_t[c] = order[q], t1
            key[c] = frac[order[q], 1] + frac[order[q], 2] / 64.0
            c += 1
    for q in np.argsort(key):
        atom, t1 = cand[q], cand_t[q]
        s1, s2, s3 = frac[atom, 0] + t1, frac[atom, 1], frac[atom, 2]
        x = s1 * cell[0, 0] + s2 * cell[1, 0] + s3 * cell[2, 0]
        y = s1 * cell[0, 1] + s2 * cell[1, 1] + s3 * cell[2, 1]
        z = s1 * cell[0, 2] + s2 * cell[1, 2] + s3 * cell[2, 2]
        iu_lo = max(int(np.ceil((s1 - e1) * n1 - 0.5)), i0)
        iu_hi = min(int(np.floor((s1 + e1) * n1 - 0.5)), i1 - 1)
        for iu in range(iu_lo, iu_hi + 1):
            f1 = (iu + 0.5) / n1
            w0 = f1 * cell[0, 0] + half3 * cell[2, 0] - x
            w1 = f1 * cell[0, 1] + half3 * cell[2, 1] - y
            w2 = f1 * cell[0, 2] + half3 * cell[2, 2] - z
            wc = (w0 * cell[2, 0] + w1 * cell[2, 1] + w2 * cell[2, 2]) / c_len2
            p0, p1, p2 = w0 - wc * cell[2, 0], w1 - wc * cell[2, 1], w2 - wc * cell[2, 2]
            pb = p0 * bp0 + p1 * bp1 + p2 * bp2
            disc2 = pb * pb - bp2_len * (p0 * p0 + p1 * p1 + p2 * p2 - r2)
            if disc2 < 0:
                continue
            root2 = np.sqrt(disc2)
            ju_lo = int(np.ceil((-pb - root2) / bp2_len * n2 - 0.5))
            ju_hi = int(np.floor((-pb + root2) / bp2_len * n2 - 0.5))
            jc = ju_lo % n2
            for ju in range(ju_lo, ju_hi + 1):
                f2 = (ju + 0.5) / n2
                u0 = w0 + f2 * cell[1, 0]
                u1 = w1 + f2 * cell[1, 1]
                u2 = w2 + f2 * cell[1, 2]
                b = u0 * dc0 + u1 * dc1 + u2 * dc2
                disc = b * b - a * (u0 * u0 + u1 * u1 + u2 * u2 - r2)
                if disc >= 0:
                    root = np.sqrt(disc)
                    k_lo = int(np.ceil((-b - root) / a))
                    k_hi = int(np.floor((-b + root) / a))
                    if k_hi >= k_lo:
                        r = iu - i0
                        if k_hi - k_lo + 1 >= n3:
                            _set_bits(bits, r, jc, 0, n3 - 1)
                        else:
                            lo = k_lo % n3
                            hi = lo + (k_hi - k_lo)
                            if hi < n3:
                                _set_bits(bits, r, jc, lo, hi)
                            else:
                                _set_bits(bits, r, jc, lo, n3 - 1)
                                _set_bits(bits, r, jc, 0, hi - n3)
                jc += 1
                if jc == n2:
                    jc = 0
    runs = np.empty((64, 4), dtype=np.int64)
    m = 0
    for r in range(rows):
        for j in range(n2):
            k = 0
            while k < n3:
                w = k >> 6
                if bits[r, j, w] == ALL and (k & 63) == 0:
                    k += 64
                    continue
                if (bits[r, j, w] >> np.uint64(k & 63)) & np.uint64(1):
                    k += 1
                    continue
                begin = k
                while k < n3 and not ((bits[r, j, k >> 6] >> np.uint64(k & 63)) & np.uint64(1)):
                    k += 1
                if m == runs.shape[0]:
                    grown = np.empty((2 * m, 4), dtype=np.int64)
                    grown[:m] = runs
                    runs = grown
                runs[m, 0], runs[m, 1], runs[m, 2], runs[m, 3] = i0 + r, j, begin, k - begin
                m += 1
    return runs[:m].copy()


@njit(cache=True, nogil=True)
def _join_columns(parent, runs, offsets, c, d):
    """Join the overlapping runs of columns c and d (face neighbours)."""
    p, q = offsets[c], offsets[d]
    p_end, q_end = offsets[c + 1], offsets[d + 1]
    while p < p_end and q < q_end:
        a0, a1 = runs[p, 2], runs[p, 2] + runs[p, 3]
        b0, b1 = runs[q, 2], runs[q, 2] + runs[q, 3]
        if max(a0, b0) < min(a1, b1):
            union(parent, p, q)
        if a1 <= b1:
            p += 1
        else:
            q += 1


@njit(cache=True, nogil=True)
def label_runs(runs, offsets, n1, n2, n3):
    """Cavity label of each run (0, 1, ... in order of first appearance): runs sharing a face, periodically, are one."""
    m = runs.shape[0]
    parent = np.arange(m)
    for i in range(n1):
        for j in range(n2):
            c = i * n2 + j
            if offsets[c + 1] == offsets[c]:
                continue
            first, last = offsets[c], offsets[c + 1] - 1
            if first != last and runs[first, 2] == 0 and runs[last, 2] + runs[last, 3] == n3:
                union(parent, first, last)  # across the periodic end of the column
            if n1 > 1:
                _join_columns(parent, runs, offsets, c, ((i + 1) % n1) * n2 + j)
            if n2 > 1:
                _join_columns(parent, runs, offsets, c, i * n2 + (j + 1) % n2)
    labels = np.empty(m, dtype=np.int64)
    index = -np.ones(m, dtype=np.int64)
    n = 0
    for r in range(m):
        root = find(parent, r)
        if index[root] < 0:
            index[root] = n
            n += 1
        labels[r] = index[root]
    return labels, n
