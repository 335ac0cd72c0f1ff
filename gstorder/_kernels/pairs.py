"""Numba kernels of the pair and bond-angle distributions (see :mod:`gstorder.pairs`).

Plain arrays in, integer histograms out; no validation. Work is split into
``n_tasks`` contiguous ranges, each with its own histogram buffer, summed at
the end: the same code runs serially (``n_tasks=1``) and in parallel, and
integer counts make both bit-identical.
"""

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, parallel=True)
def pair_histogram(i, j, d, types, n_types, r_min, r_max, n_bins, n_tasks):
    """Counts of pairs ``(i, j)`` by (type of i, type of j, distance bin); shape (n_types, n_types, n_bins)."""
    m = i.shape[0]
    n_tasks = max(1, min(n_tasks, m))
    buf = np.zeros((n_tasks, n_types, n_types, n_bins), dtype=np.int64)
    scale = n_bins / (r_max - r_min)
    for t in prange(n_tasks):
        for p in range(t * m // n_tasks, (t + 1) * m // n_tasks):
            x = d[p]
            if x < r_min or x >= r_max:
                continue
            b = int((x - r_min) * scale)
            if b >= n_bins:
                b = n_bins - 1
            buf[t, types[i[p]], types[j[p]], b] += 1
    return buf.sum(axis=0)


@njit(cache=True, nogil=True, parallel=True)
def angle_histogram(offsets, centers, j, vectors, distances, types, n_types, n_bins, n_tasks):
    """Bond angles j-i-k (degrees, j < k in list order) of each centre i.

    Returns counts of shape (n_types, n_types, n_types, n_bins) indexed by
    (type of i, type of j, type of k) with type j <= type k.
    """
    n_c = centers.shape[0]
    n_tasks = max(1, min(n_tasks, n_c))
    buf = np.zeros((n_tasks, n_types, n_types, n_types, n_bins), dtype=np.int64)
    for t in prange(n_tasks):
        for c in range(t * n_c // n_tasks, (t + 1) * n_c // n_tasks):
            ti = types[centers[c]]
            for p in range(offsets[c], offsets[c + 1]):
                for q in range(p + 1, offsets[c + 1]):
                    cos = (vectors[p, 0] * vectors[q, 0] + vectors[p, 1] * vectors[q, 1] + vectors[p, 2] * vectors[q, 2]) / (
                        distances[p] * distances[q]
                    )
                    cos = min(1.0, max(-1.0, cos))
                    b = int(np.degrees(np.arccos(cos)) * n_bins / 180.0)
                    if b >= n_bins:
                        b = n_bins - 1
                    tj, tk = types[j[p]], types[j[q]]
                    if tj > tk:
                        tj, tk = tk, tj
                    buf[t, ti, tj, tk, b] += 1
    return buf.sum(axis=0)
