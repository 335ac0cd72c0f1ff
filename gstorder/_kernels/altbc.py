"""Numba kernel of the angular-limited three-body correlation (see :mod:`gstorder.altbc`). No validation here."""

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, parallel=True)
def collinear_pair_histogram(offsets, vectors, distances, r_min, r_max, cos_max, n_bins, n_tasks):
    """Ordered pairs of distinct neighbours j, k of each centre with angle j-i-k >= 180° - δ.

    ``cos_max = cos(180° - δ)``. Returns the (n_bins, n_bins) counts over
    (r_ij, r_ik) in [r_min, r_max), the sum of long/short ratios over the
    unordered collinear pairs and their number.
    """
    n_c = offsets.shape[0] - 1
    n_tasks = max(1, min(n_tasks, n_c))
    buf = np.zeros((n_tasks, n_bins, n_bins), dtype=np.int64)
    ratio = np.zeros(n_tasks)
    count = np.zeros(n_tasks, dtype=np.int64)
    scale = n_bins / (r_max - r_min)
    for t in prange(n_tasks):
        for c in range(t * n_c // n_tasks, (t + 1) * n_c // n_tasks):
            for p in range(offsets[c], offsets[c + 1]):
                dp = distances[p]
                if dp < r_min or dp >= r_max:
                    continue
                bp = min(int((dp - r_min) * scale), n_bins - 1)
                for r in range(p + 1, offsets[c + 1]):
                    dr = distances[r]
                    if dr < r_min or dr >= r_max:
                        continue
                    cos = (vectors[p, 0] * vectors[r, 0] + vectors[p, 1] * vectors[r, 1] + vectors[p, 2] * vectors[r, 2]) / (dp * dr)
                    if cos > cos_max:
                        continue
                    br = min(int((dr - r_min) * scale), n_bins - 1)
                    buf[t, bp, br] += 1
                    buf[t, br, bp] += 1
                    ratio[t] += max(dp, dr) / min(dp, dr)
                    count[t] += 1
    return buf.sum(axis=0), ratio.sum(), count.sum()
