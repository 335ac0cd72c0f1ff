"""Numba kernel of binned sums for temperature maps and density profiles (see :mod:`gstorder.thermal`).

No validation here; per-task buffers summed at the end, so serial and
parallel runs give the same counts (and sums up to rounding order).
"""

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, parallel=True)
def binned_sums(row, frac, n_rows, n_bins, values, n_tasks):
    """Counts and sums of ``values`` per (row, bin); bin = floor(frac * n_bins) wrapped into range.

    Items with ``row < 0`` are skipped. ``frac`` is a fractional coordinate,
    taken modulo 1 (periodic) - callers wrap or clip non-periodic axes first.
    """
    m = row.shape[0]
    n_tasks = max(1, min(n_tasks, m))
    counts = np.zeros((n_tasks, n_rows, n_bins), dtype=np.int64)
    sums = np.zeros((n_tasks, n_rows, n_bins))
    for t in prange(n_tasks):
        for a in range(t * m // n_tasks, (t + 1) * m // n_tasks):
            r = row[a]
            if r < 0:
                continue
            f = frac[a] - np.floor(frac[a])
            b = int(f * n_bins)
            if b >= n_bins:
                b = n_bins - 1
            counts[t, r, b] += 1
            sums[t, r, b] += values[a]
    return counts.sum(axis=0), sums.sum(axis=0)
