"""Numba kernels of the Steinhardt order parameters, solid bonds and clusters (see :mod:`gstorder.order`). No validation here.

Complex ``q_lm`` are stored for ``m = 0..l`` only (``q_l,-m = (-1)^m q_lm*`` for
real bond vectors), the degrees ``ls`` one after the other: column
``start[k] + m`` holds ``q_{ls[k] m}``.
"""

import numpy as np
from numba import njit, prange

from .unionfind import find, union


@njit(cache=True, nogil=True, parallel=True)
def bond_harmonics(offsets, vectors, distances, ls, start, lmax, diag, sub, rec_a, rec_b, out, n_tasks):
    """Per centre of a CSR block: ``q_lm = (1/N_b) Σ_j Y_lm(r̂_ij)`` for ``m ≥ 0`` into ``out`` (n_centres, n_columns).

    ``Y_lm = P̃_lm(cos θ) ((x + i y)/r)^m`` with the normalised associated
    Legendre functions (Condon–Shortley phase) by the recurrences
    ``P̃_mm = diag[m] P̃_{m-1,m-1}``, ``P̃_{m+1,m} = sub[m] cos θ P̃_mm`` and
    ``P̃_lm = rec_a[l, m] cos θ P̃_{l-1,m} - rec_b[l, m] P̃_{l-2,m}``, the
    ``sinθ^m`` factor carried by ``((x + i y)/r)^m``. Centres without
    neighbours get zeros.
    """
    n_c = offsets.shape[0] - 1
    n_tasks = max(1, min(n_tasks, n_c))
    nl = ls.shape[0]
    for t in prange(n_tasks):
        p = np.empty((lmax + 1, lmax + 1))
        e_re = np.empty(lmax + 1)
        e_im = np.empty(lmax + 1)
        acc = np.zeros((lmax + 1, lmax + 1, 2))
        for c in range(t * n_c // n_tasks, (t + 1) * n_c // n_tasks):
            first, last = offsets[c], offsets[c + 1]
            acc[:] = 0.0
            for b in range(first, last):
                r = distances[b]
                if r <= 0.0:
                    continue
                x, y, z = vectors[b, 0] / r, vectors[b, 1] / r, vectors[b, 2] / r
                e_re[0], e_im[0] = 1.0, 0.0
                for m in range(1, lmax + 1):
                    e_re[m] = e_re[m - 1] * x - e_im[m - 1] * y
                    e_im[m] = e_re[m - 1] * y + e_im[m - 1] * x
                p[0, 0] = diag[0]
                for m in range(1, lmax + 1):
                    p[m, m] = diag[m] * p[m - 1, m - 1]
                for m in range(0, lmax):
                    p[m + 1, m] = sub[m] * z * p[m, m]
                for m in range(0, lmax + 1):
                    for l in range(m + 2, lmax + 1):
                        p[l, m] = rec_a[l, m] * z * p[l - 1, m] - rec_b[l, m] * p[l - 2, m]
                for k in range(nl):
                    l = ls[k]
                    for m in range(l + 1):
                        acc[l, m, 0] += p[l, m] * e_re[m]
                        acc[l, m, 1] += p[l, m] * e_im[m]
            n = last - first
            inv = 1.0 / n if n > 0 else 0.0
            for k in range(nl):
                l = ls[k]
                for m in range(l + 1):
                    out[c, start[k] + m] = complex(acc[l, m, 0] * inv, acc[l, m, 1] * inv)


@njit(cache=True, nogil=True, parallel=True)
def neighbour_average(offsets, centers, j, qlm, out, n_tasks):
    """Lechner–Dellago: ``out[c] = mean of qlm over centres[c] and its neighbours`` (rows of ``qlm`` indexed by atom)."""
    n_c = offsets.shape[0] - 1
    n_col = qlm.shape[1]
    n_tasks = max(1, min(n_tasks, n_c))
    for t in prange(n_tasks):
        for c in range(t * n_c // n_tasks, (t + 1) * n_c // n_tasks):
            first, last = offsets[c], offsets[c + 1]
            i = centers[c]
            for q in range(n_col):
                out[c, q] = qlm[i, q]
            for b in range(first, last):
                for q in range(n_col):
                    out[c, q] += qlm[j[b], q]
            inv = 1.0 / (last - first + 1)
            for q in range(n_col):
                out[c, q] *= inv


@njit(cache=True, nogil=True, parallel=True)
def invariants(qlm, ls, start, w3j_start, w3j_m, w3j_value, q_out, w_out, norm_out, want_w, n_tasks):
    """Per row of ``qlm``: ``q_l = sqrt(4π/(2l+1) Σ_m |q_lm|²)``, ``Σ_m |q_lm|²`` and, if ``want_w``, ``w_l``.

    ``w_l = Σ_{m1+m2+m3=0} (l l l; m1 m2 m3) q_lm1 q_lm2 q_lm3`` over the
    Wigner 3j table of degree ``k``: entries ``w3j_start[k]:w3j_start[k+1]``
    of ``w3j_m`` (m1, m2) and ``w3j_value``; negative m from ``q_l,-m = (-1)^m q_lm*``.
    """
    n = qlm.shape[0]
    nl = ls.shape[0]
    n_tasks = max(1, min(n_tasks, n))
    for t in prange(n_tasks):
        for i in range(t * n // n_tasks, (t + 1) * n // n_tasks):
            for k in range(nl):
                l = ls[k]
                s0 = start[k]
                total = qlm[i, s0].real ** 2 + qlm[i, s0].imag ** 2
                for m in range(1, l + 1):
                    v = qlm[i, s0 + m]
                    total += 2.0 * (v.real * v.real + v.imag * v.imag)
                norm_out[i, k] = total
                q_out[i, k] = np.sqrt(4.0 * np.pi / (2 * l + 1) * total)
                if want_w:
                    w = 0.0
                    for e in range(w3j_start[k], w3j_start[k + 1]):
                        m1, m2 = w3j_m[e, 0], w3j_m[e, 1]
                        m3 = -m1 - m2
                        a = _signed(qlm, i, s0, m1)
                        b = _signed(qlm, i, s0, m2)
                        c = _signed(qlm, i, s0, m3)
                        w += w3j_value[e] * (a * b * c).real
                    w_out[i, k] = w


@njit(cache=True, inline="always")
def _signed(qlm, i, s0, m):
    if m >= 0:
        return qlm[i, s0 + m]
    v = qlm[i, s0 - m].conjugate()
    return -v if (-m) % 2 == 1 else v


@njit(cache=True, nogil=True, parallel=True)
def bond_coherence(offsets, centers, j, qlm, s0, l, norm, threshold, coherence, solid_bonds, n_tasks):
    """ten Wolde–Frenkel: per pair ``Σ_m q_lm(i) q_lm(j)* / (|q_l(i)| |q_l(j)|)`` into ``coherence``; per centre the
    number of pairs above ``threshold`` into ``solid_bonds``. Zero when either atom has no ``q_lm``."""
    n_c = offsets.shape[0] - 1
    n_tasks = max(1, min(n_tasks, n_c))
    for t in prange(n_tasks):
        for c in range(t * n_c // n_tasks, (t + 1) * n_c // n_tasks):
            i = centers[c]
            count = 0
            for b in range(offsets[c], offsets[c + 1]):
                k = j[b]
                d = norm[i] * norm[k]
                if d <= 0.0:
                    coherence[b] = 0.0
                    continue
                s = (qlm[i, s0] * qlm[k, s0].conjugate()).real
                for m in range(1, l + 1):
                    s += 2.0 * (qlm[i, s0 + m] * qlm[k, s0 + m].conjugate()).real
                s /= np.sqrt(d)
                coherence[b] = s
                if s > threshold:
                    count += 1
            solid_bonds[c] = count


@njit(cache=True, nogil=True)
def union_edges(parent, i, j, member):
    """Union-find over the pairs ``(i[b], j[b])`` whose atoms are both ``member``; ``parent`` (n_atoms) updated in place.

    The smaller root index always becomes the root, so the result does not
    depend on the order of the pairs.
    """
    for b in range(i.shape[0]):
        a, c = i[b], j[b]
        if not (member[a] and member[c]):
            continue
        union(parent, a, c)


@njit(cache=True, nogil=True)
def roots(parent, member):
    """Root atom of every member's component (-1 for non-members)."""
    n = parent.shape[0]
    out = np.full(n, -1, dtype=np.int64)
    for a in range(n):
        if member[a]:
            out[a] = find(parent, a)
    return out


@njit(cache=True, nogil=True)
def cluster_moments(label, n_clusters, unwrapped_frac, cell):
    """Per cluster: size, centre (Å) and radius of gyration (Å) from fractional coordinates unwrapped within clusters.

    ``unwrapped_frac`` (n_atoms, 3) already places each member next to its
    cluster's anchor (minimum image); ``label`` is -1 outside clusters.
    """
    size = np.zeros(n_clusters, dtype=np.int64)
    mean = np.zeros((n_clusters, 3))
    sq = np.zeros(n_clusters)
    for a in range(label.shape[0]):
        c = label[a]
        if c < 0:
            continue
        x = unwrapped_frac[a, 0] * cell[0, 0] + unwrapped_frac[a, 1] * cell[1, 0] + unwrapped_frac[a, 2] * cell[2, 0]
        y = unwrapped_frac[a, 0] * cell[0, 1] + unwrapped_frac[a, 1] * cell[1, 1] + unwrapped_frac[a, 2] * cell[2, 1]
        z = unwrapped_frac[a, 0] * cell[0, 2] + unwrapped_frac[a, 1] * cell[1, 2] + unwrapped_frac[a, 2] * cell[2, 2]
        size[c] += 1
        mean[c, 0] += x
        mean[c, 1] += y
        mean[c, 2] += z
        sq[c] += x * x + y * y + z * z
    rg = np.zeros(n_clusters)
    for c in range(n_clusters):
        if size[c] > 0:
            for d in range(3):
                mean[c, d] /= size[c]
            v = sq[c] / size[c] - (mean[c, 0] ** 2 + mean[c, 1] ** 2 + mean[c, 2] ** 2)
            rg[c] = np.sqrt(max(v, 0.0))
    return size, mean, rg
