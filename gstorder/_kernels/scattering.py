"""Numba kernels of the direct structure factor over reciprocal-lattice vectors (see :mod:`gstorder.scattering`).

A wave vector of the cell's reciprocal lattice is ``k = h b1 + k b2 + l b3``
(rows of ``recip``, 2π included). ``e^{i k·r_j}`` is the product of three
per-atom phase tables ``E1[j, h] E2[j, k] E3[j, l]`` (powers of
``e^{2πi s_j}`` along each fractional coordinate), so one amplitude costs two
complex multiplications per atom. Rows ``(h, k)`` are split into ``n_tasks``
contiguous ranges: each row's amplitudes belong to one task (no races), and
the binning into |k| shells uses one buffer per task, summed at the end.
"""

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def _l_range(recip, h, k, n_l, q_max2):
    """First and last l in [0, n_l) with |h b1 + k b2 + l b3|² ≤ q_max2 (an interval: |k|² is convex in l); (1, 0) if none."""
    lo, hi = 1, 0
    for l in range(n_l):
        x = h * recip[0, 0] + k * recip[1, 0] + l * recip[2, 0]
        y = h * recip[0, 1] + k * recip[1, 1] + l * recip[2, 1]
        z = h * recip[0, 2] + k * recip[1, 2] + l * recip[2, 2]
        if x * x + y * y + z * z <= q_max2:
            if lo > hi:
                lo = l
            hi = l
        elif lo <= hi:
            break
    return lo, hi


@njit(cache=True, nogil=True, parallel=True)
def add_amplitudes(rho, e1, e2, e3, types, h_values, n_k, recip, q_max2, n_tasks):
    """Add the atoms of one chunk to ``rho[row, l, type]`` (complex), row = (index of h in ``h_values``) * (2 n_k + 1) + k + n_k.

    ``e1[j, m]`` is the phase of atom j for ``h_values[m]``, ``e2[j, k + n_k]``
    for k in [-n_k, n_k], ``e3[j, l]`` for l in [0, n_l). Only vectors with
    |k|² ≤ ``q_max2`` are touched.
    """
    n_rows = rho.shape[0]
    n_l = rho.shape[1]
    width = 2 * n_k + 1
    n_atoms = types.shape[0]
    n_tasks = max(1, min(n_tasks, n_rows))
    for t in prange(n_tasks):
        for row in range(t * n_rows // n_tasks, (t + 1) * n_rows // n_tasks):
            m = row // width
            kk = row % width
            lo, hi = _l_range(recip, h_values[m], kk - n_k, n_l, q_max2)
            if lo > hi:
                continue
            for j in range(n_atoms):
                p = e1[j, m] * e2[j, kk]
                a = types[j]
                for l in range(lo, hi + 1):
                    rho[row, l, a] += p * e3[j, l]


@njit(cache=True, nogil=True, parallel=True)
def bin_amplitudes(rho, h_values, n_k, recip, edges, n_tasks):
    """Sums over the half-space of vectors in each |k| bin of Re(ρ_a ρ_b*) (n_bins, n_types, n_types), and their counts.

    Each pair ±k is counted once (l > 0, or l = 0 and k > 0, or l = k = 0 and
    h > 0); k = 0 is left out. ``edges`` are increasing bin edges in Å⁻¹.
    """
    n_rows, n_l, n_types = rho.shape
    n_bins = edges.shape[0] - 1
    width = 2 * n_k + 1
    q_lo, q_hi = edges[0], edges[n_bins]
    n_tasks = max(1, min(n_tasks, n_rows))
    sums = np.zeros((n_tasks, n_bins, n_types, n_types))
    counts = np.zeros((n_tasks, n_bins), dtype=np.int64)
    for t in prange(n_tasks):
        for row in range(t * n_rows // n_tasks, (t + 1) * n_rows // n_tasks):
            h = h_values[row // width]
            k = row % width - n_k
            for l in range(n_l):
                if l == 0 and (k < 0 or (k == 0 and h <= 0)):
                    continue
                x = h * recip[0, 0] + k * recip[1, 0] + l * recip[2, 0]
                y = h * recip[0, 1] + k * recip[1, 1] + l * recip[2, 1]
                z = h * recip[0, 2] + k * recip[1, 2] + l * recip[2, 2]
                q = np.sqrt(x * x + y * y + z * z)
                if q < q_lo or q >= q_hi:
                    continue
                b = np.searchsorted(edges, q, side="right") - 1
                counts[t, b] += 1
                for a in range(n_types):
                    ra = rho[row, l, a]
                    for c in range(n_types):
                        rc = rho[row, l, c]
                        sums[t, b, a, c] += ra.real * rc.real + ra.imag * rc.imag
    return sums.sum(axis=0), counts.sum(axis=0)
