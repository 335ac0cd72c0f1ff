"""Numba kernel of the per-atom bond motifs (see :mod:`gstorder.motifs`). No validation here."""

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, parallel=True)
def bond_angle_order(offsets, vectors, distances, cos_tolerance, n_tasks):
    """Per centre: tetrahedral order q and whether every bond angle is octahedral.

    ``q = 1 - 3/8 Σ_{j<k} (cos θ_jik + 1/3)²`` over all bonded neighbours
    (NaN with fewer than two). An angle is octahedral when |cos θ| <
    ``cos_tolerance[0]`` (near 90°) or cos θ < ``-cos_tolerance[1]`` (near 180°).
    """
    n_c = offsets.shape[0] - 1
    q = np.full(n_c, np.nan)
    octahedral = np.zeros(n_c, dtype=np.bool_)
    n_tasks = max(1, min(n_tasks, n_c))
    for t in prange(n_tasks):
        for c in range(t * n_c // n_tasks, (t + 1) * n_c // n_tasks):
            first, last = offsets[c], offsets[c + 1]
            if last - first < 2:
                continue
            s = 0.0
            ok = True
            for p in range(first, last):
                for r in range(p + 1, last):
                    cos = (vectors[p, 0] * vectors[r, 0] + vectors[p, 1] * vectors[r, 1] + vectors[p, 2] * vectors[r, 2]) / (
                        distances[p] * distances[r]
                    )
                    s += (cos + 1.0 / 3.0) ** 2
                    if not (abs(cos) < cos_tolerance[0] or cos < -cos_tolerance[1]):
                        ok = False
            q[c] = 1.0 - 0.375 * s
            octahedral[c] = ok
    return q, octahedral
