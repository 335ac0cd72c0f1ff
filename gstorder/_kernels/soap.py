"""Numba kernels of quippy's SOAP power spectrum and of the k̄ similarity (see :mod:`gstorder._soap`).

Plain arrays in, plain arrays out; no validation here. The definitions follow
quippy's ``soap`` descriptor exactly (``spec.md``, "SOAP exactly as quippy
computes it"); each centre's row is written by one thread only.
"""

import numpy as np
from numba import njit, prange

#: Fused multiply-adds allowed (results change in the last bit, never more); nothing else of fastmath.
_FMA = {"contract"}


@njit(cache=True, nogil=True, fastmath=_FMA)
def real_spherical_harmonics(x, y, z, l_max, norm, out):
    """Orthonormal real spherical harmonics of a unit vector into ``out[l*l + l + m]``.

    ``norm[l*l + l + m]`` holds sqrt((2l+1)/4π (l-|m|)!/(l+|m|)!), times
    sqrt(2) for m != 0. Signs follow no particular convention: the power
    spectrum does not depend on them.
    """
    # cos/sin(m phi) sin^m(theta) as Re/Im of (x + i y)^m
    a, b = 1.0, 0.0
    for m in range(l_max + 1):
        if m > 0:
            a, b = a * x - b * y, a * y + b * x
        # associated Legendre functions divided by sin^m(theta), by upward recursion in l
        qmm = 1.0
        for k in range(1, m + 1):
            qmm *= 2 * k - 1
        q_prev, q = 0.0, qmm
        for l in range(m, l_max + 1):
            if l == m + 1:
                q_prev, q = q, (2 * m + 1) * z * qmm
            elif l > m + 1:
                q_prev, q = q, ((2 * l - 1) * z * q - (l + m - 1) * q_prev) / (l - m)
            if m == 0:
                out[l * l + l] = norm[l * l + l] * q
            else:
                out[l * l + l + m] = norm[l * l + l + m] * q * a
                out[l * l + l - m] = norm[l * l + l - m] * q * b


@njit(cache=True, nogil=True, fastmath=_FMA)
def radial_functions(r, alpha, rb, decay, l_max, e_minus, e_plus, inv_x, out):
    """quippy's Gaussian radial functions ``out[l, b] = exp(-α(r² + r_b²)) i_l(2α r r_b)``.

    The modified spherical Bessel functions come from upward recursion with
    the exponentials folded in, as quippy evaluates them. ``rb`` must be
    equispaced from 0 (quippy's basis, spacing h); then exp(-α(r - r_b)²)
    follows from its predecessor times exp(2α h r) exp(-α h² (2b - 1)), the
    latter tabulated in ``decay`` (see :func:`radial_decay`), and
    exp(-α(r + r_b)²) is exp(-α(r - r_b)²) times exp(-4α h r)^b: two
    exponentials per neighbour instead of 2 n_max. Where those products
    could leave double range (``decay[0] == 0``) every exponential is
    evaluated directly. ``e_minus``, ``e_plus`` and ``inv_x`` are scratch
    arrays of length n_max.
    """
    n_max = rb.shape[0]
    h = rb[1] - rb[0] if n_max > 1 else 0.0
    if decay[0] != 0.0:
        grow = np.exp(2.0 * alpha * h * r)
        step = 1.0 / (grow * grow)
        e, ratio = np.exp(-alpha * r * r), 1.0
        for b in range(n_max):
            if b > 0:
                e *= grow * decay[b]
                ratio *= step
            e_minus[b] = e
            e_plus[b] = e * ratio
    else:
        for b in range(n_max):
            e_minus[b] = np.exp(-alpha * (r - rb[b]) ** 2)
            e_plus[b] = np.exp(-alpha * (r + rb[b]) ** 2)
    # l = 0 and the recursion in l, vectorised over the basis functions b >= 1
    two_alpha_r = 2.0 * alpha * r
    for b in range(1, n_max):
        inv_x[b] = 1.0 / (two_alpha_r * rb[b])
    out[0, 0] = e_minus[0]
    for b in range(1, n_max):
        out[0, b] = 0.5 * (e_minus[b] - e_plus[b]) * inv_x[b]
    for l in range(1, l_max + 1):
        out[l, 0] = 0.0
        for b in range(1, n_max):
            previous = out[l - 2, b] if l >= 2 else 0.5 * (e_minus[b] + e_plus[b]) * inv_x[b]
            out[l, b] = previous - (2 * l - 1) * out[l - 1, b] * inv_x[b]


def radial_decay(alpha, rb, cutoff):
    """The table ``decay[b] = exp(-α h² (2b - 1))`` of :func:`radial_functions`, or zeros.

    Zeros (direct exponentials) unless every factor of the recurrence stays
    far inside double range for neighbours up to ``cutoff``.
    """
    n_max = len(rb)
    h = rb[1] - rb[0] if n_max > 1 else 0.0
    safe = max(alpha * cutoff**2, 2.0 * alpha * h * cutoff, alpha * h**2 * (2 * n_max - 1)) < 600.0
    if not safe:
        return np.zeros(n_max)
    decay = np.exp(-alpha * h**2 * (2.0 * np.arange(n_max) - 1.0))
    decay[0] = 1.0
    return decay


@njit(cache=True, nogil=True, fastmath=_FMA)
def _centre_spectrum(c, offsets, j, distances, vectors, channel, own, central_all, rb, decay, alpha, rc, width,
                     transform, l0, central_weight, l_max, n_species, ylm_norm, normalise, sigma0,
                     raw, coeff, coeff_k, pair_row, radial, ylm, scratch, ps_factor, columns, out_row):
    """One centre's SOAP vector into ``out_row``, component d at ``out_row[columns[d]]`` (a permutation).

    Scratch layouts keep every innermost loop contiguous and zero-based, so
    that it vectorises: ``raw[s, lm, b]``, ``coeff[lm, s, a]`` (the same
    memory as ``coeff_k[lm, k]`` with k = s n_max + a), ``pair_row[l, k']``.
    """
    n_max = rb.shape[0]
    n_lm = (l_max + 1) * (l_max + 1)
    raw[:] = 0.0
    for p in range(offsets[c], offsets[c + 1]):
        s = channel[j[p]]
        r = distances[p]
        if s < 0 or r >= rc or r == 0.0:
            continue
        if r > rc - width:
            f = 0.5 * (np.cos(np.pi * (r - rc + width) / width) + 1.0)
        else:
            f = 1.0
        inv_r = 1.0 / r
        real_spherical_harmonics(vectors[p, 0] * inv_r, vectors[p, 1] * inv_r, vectors[p, 2] * inv_r, l_max, ylm_norm, ylm)
        radial_functions(r, alpha, rb, decay, l_max, scratch[0], scratch[1], scratch[2], radial)
        for l in range(l_max + 1):
            for lm in range(l * l, (l + 1) * (l + 1)):
                g = f * ylm[lm]
                for b in range(n_max):
                    raw[s, lm, b] += g * radial[l, b]
    # change to the orthonormal radial basis: coeff[lm, s, a] = Σ_b raw[s, lm, b] T[b, a]
    coeff[:] = 0.0
    for s in range(n_species):
        for lm in range(n_lm):
            for b in range(n_max):
                x = raw[s, lm, b]
                for a in range(n_max):
                    coeff[lm, s, a] += x * transform[b, a]
    # the central atom, a Gaussian at the origin, in its own species channel (or all)
    for s in range(n_species):
        if s == own or central_all:
            for a in range(n_max):
                coeff[0, s, a] += central_weight * l0[a] / np.sqrt(4.0 * np.pi)
    # power spectrum P^l_kk' = Σ_m c_klm c_k'lm for k' <= k, written pair by pair with l fastest
    n_k = n_species * n_max
    n_l = l_max + 1
    norm2 = 0.0
    for k in range(n_k):
        for l in range(n_l):
            for k2 in range(k + 1):
                pair_row[l, k2] = 0.0
            for lm in range(l * l, (l + 1) * (l + 1)):
                ck = coeff_k[lm, k]
                for k2 in range(k + 1):
                    pair_row[l, k2] += ck * coeff_k[lm, k2]
        base = k * (k + 1) // 2
        for k2 in range(k + 1):
            for l in range(n_l):
                acc = pair_row[l, k2] * (ps_factor[l] if k == k2 else ps_factor[l] * np.sqrt(2.0))
                out_row[columns[(base + k2) * n_l + l]] = acc
                norm2 += acc * acc
    last = columns[out_row.shape[0] - 1]
    out_row[last] = 0.0
    if normalise and norm2 > 0.0:
        scale = 1.0 / np.sqrt(norm2)
        for d in range(out_row.shape[0]):
            out_row[d] *= scale
    out_row[last] = sigma0


@njit(cache=True, nogil=True, fastmath={"contract", "reassoc"})
def _project(row, refs, first, stop, out_row):
    """``out_row[r] = row[:m] · refs[r]`` for ``first <= r < stop`` (m = refs.shape[1]), the sums vectorised
    (reassociated: a few ulp)."""
    for r in range(first, stop):
        acc = 0.0
        for d in range(refs.shape[1]):
            acc += row[d] * refs[r, d]
        out_row[r] = acc


@njit(cache=True, nogil=True, parallel=True, fastmath=_FMA)
def soap_block(offsets, centers, j, distances, vectors, channel, central_all, rb, decay, alpha, rc, width, transform, l0,
               central_weight, l_max, n_species, ylm_norm, normalise, sigma0, refs, ref_rows, columns, order, out, n_tasks):
    """SOAP power spectra of the centres of one neighbour-list block into ``out``.

    ``channel[atom]`` is the species channel of each atom (-1: neither
    neighbour nor centre); the centre's own channel receives the central
    Gaussian unless ``central_all``. ``decay`` comes from :func:`radial_decay`.
    With ``refs`` of shape (0, dim), ``out`` (n_centres, dim) receives the
    vectors; otherwise ``out`` (n_centres, n_refs) receives only their dot
    products with the rows of ``refs``, each vector living in a per-thread
    row that stays in cache (for k̄ against a few reference environments
    this skips writing and re-reading 26 kB per atom); centre ``c`` is
    projected on rows ``ref_rows[c, 0]`` to ``ref_rows[c, 1] - 1`` of ``refs``
    only (e.g. its group's), the other columns of its row of ``out`` left
    as they were. Centre ``c`` goes to row ``order[c]`` of ``out`` (a
    permutation, e.g. centres sorted by group), its component d in column
    ``columns[d]`` (a permutation: e.g. the components a reference needs
    first, so that ``refs`` may hold those columns alone).
    """
    n_c = offsets.shape[0] - 1
    n_max = rb.shape[0]
    n_lm = (l_max + 1) * (l_max + 1)
    n_tasks = max(1, min(n_tasks, n_c))
    project = refs.shape[0] > 0
    for t in prange(n_tasks):
        raw = np.empty((n_species, n_lm, n_max))
        coeff = np.empty((n_lm, n_species, n_max))
        coeff_k = coeff.reshape((n_lm, n_species * n_max))
        pair_row = np.empty((l_max + 1, n_species * n_max))
        radial = np.empty((l_max + 1, n_max))
        ylm = np.empty(n_lm)
        scratch = np.empty((3, n_max))
        row = np.empty(columns.shape[0] if project else 0)
        ps_factor = np.empty(l_max + 1)
        for l in range(l_max + 1):
            ps_factor[l] = 1.0 / np.sqrt(2.0 * l + 1.0)
        for c in range(t * n_c // n_tasks, (t + 1) * n_c // n_tasks):
            target = row if project else out[order[c]]
            _centre_spectrum(c, offsets, j, distances, vectors, channel, channel[centers[c]], central_all, rb, decay, alpha,
                             rc, width, transform, l0, central_weight, l_max, n_species, ylm_norm, normalise, sigma0,
                             raw, coeff, coeff_k, pair_row, radial, ylm, scratch, ps_factor, columns, target)
            if project:
                _project(row, refs, ref_rows[c, 0], ref_rows[c, 1], out[order[c]])


@njit(cache=True, nogil=True, parallel=True)
def neighbour_mean(offsets, centers, j, values, out):
    """``out[c] = (values[i] + Σ_j values[j]) / (1 + n_neighbours)`` for each centre i = centers[c]."""
    for c in prange(offsets.shape[0] - 1):
        acc = values[centers[c]]
        for p in range(offsets[c], offsets[c + 1]):
            acc += values[j[p]]
        out[c] = acc / (1 + offsets[c + 1] - offsets[c])
