"""Numba kernels of quippy's SOAP power spectrum and of the k̄ similarity (see :mod:`gstorder._soap`).

Plain arrays in, plain arrays out; no validation here. The definitions follow
quippy's ``soap`` descriptor exactly (``spec.md``, "SOAP exactly as quippy
computes it"); each centre's row is written by one thread only.
"""

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def radial_functions(r, alpha, rb, l_max, out):
    """quippy's Gaussian radial functions ``out[l, b] = exp(-α(r² + r_b²)) i_l(2α r r_b)``.

    The modified spherical Bessel functions come from upward recursion with
    the exponentials folded in, as quippy evaluates them; ``rb`` must be
    equispaced from 0 (quippy's basis), so exp(-α(r + r_b)²) is
    exp(-α(r - r_b)²) times a power of exp(-4α r h).
    """
    n_max = rb.shape[0]
    h = rb[1] - rb[0] if n_max > 1 else 0.0
    step = np.exp(-4.0 * alpha * r * h)
    ratio = 1.0
    for b in range(n_max):
        if b == 0:
            out[0, 0] = np.exp(-alpha * r * r)
            for l in range(1, l_max + 1):
                out[l, 0] = 0.0
            continue
        ratio *= step
        inv_x = 1.0 / (2.0 * alpha * r * rb[b])  # one division per basis function, not one per l
        e_minus = np.exp(-alpha * (r - rb[b]) ** 2)
        e_plus = e_minus * ratio
        g_lm2 = 0.5 * (e_minus + e_plus) * inv_x  # l = -1
        g_lm1 = 0.5 * (e_minus - e_plus) * inv_x  # l = 0
        out[0, b] = g_lm1
        for l in range(1, l_max + 1):
            g = g_lm2 - (2 * l - 1) * g_lm1 * inv_x
            out[l, b] = g
            g_lm2, g_lm1 = g_lm1, g


@njit(cache=True, nogil=True)
def _centre_spectrum(c, offsets, j, distances, vectors, channel, own, central_all, rb, alpha, rc, width,
                     transform, l0, central_weight, l_max, n_species, ylm_norm, normalise, sigma0,
                     raw, coeff, spectrum, radial, ylm, ps_factor, out_row):
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
        radial_functions(r, alpha, rb, l_max, radial)
        for b in range(n_max):
            for l in range(l_max + 1):
                g = f * radial[l, b]
                for lm in range(l * l, (l + 1) * (l + 1)):
                    raw[s, b, lm] += g * ylm[lm]
    # change to the orthonormal radial basis: coeff[lm, s n_max + a] = Σ_b raw[s, b, lm] T[b, a]
    coeff[:] = 0.0
    for s in range(n_species):
        for b in range(n_max):
            for lm in range(n_lm):
                x = raw[s, b, lm]
                for a in range(n_max):
                    coeff[lm, s * n_max + a] += x * transform[b, a]
    # the central atom, a Gaussian at the origin, in its own species channel (or all)
    for s in range(n_species):
        if s == own or central_all:
            for a in range(n_max):
                coeff[0, s * n_max + a] += central_weight * l0[a] / np.sqrt(4.0 * np.pi)
    # power spectrum P^l_kk' = Σ_m c_klm c_k'lm for k' <= k, contiguous in k'
    n_k = n_species * n_max
    spectrum[:] = 0.0
    for l in range(l_max + 1):
        for lm in range(l * l, (l + 1) * (l + 1)):
            for k in range(n_k):
                ck = coeff[lm, k]
                base = k * (k + 1) // 2
                for k2 in range(k + 1):
                    spectrum[l, base + k2] += ck * coeff[lm, k2]
    norm2 = 0.0
    for k in range(n_k):
        base = k * (k + 1) // 2
        for k2 in range(k + 1):
            for l in range(l_max + 1):
                acc = spectrum[l, base + k2] * (ps_factor[l] if k == k2 else ps_factor[l] * np.sqrt(2.0))
                out_row[(base + k2) * (l_max + 1) + l] = acc
                norm2 += acc * acc
    last = out_row.shape[0] - 1
    out_row[last] = 0.0
    if normalise and norm2 > 0.0:
        scale = 1.0 / np.sqrt(norm2)
        for d in range(last):
            out_row[d] *= scale
    out_row[last] = sigma0


@njit(cache=True, nogil=True, parallel=True)
def soap_block(offsets, centers, j, distances, vectors, channel, central_all, rb, alpha, rc, width, transform, l0,
               central_weight, l_max, n_species, ylm_norm, normalise, sigma0, out, n_tasks):
    """SOAP power spectra of the centres of one neighbour-list block into ``out`` (n_centres, dim).

    ``channel[atom]`` is the species channel of each atom (-1: neither
    neighbour nor centre); the centre's own channel receives the central
    Gaussian unless ``central_all``.
    """
    n_c = offsets.shape[0] - 1
    n_max = rb.shape[0]
    n_lm = (l_max + 1) * (l_max + 1)
    n_tasks = max(1, min(n_tasks, n_c))
    for t in prange(n_tasks):
        raw = np.empty((n_species, n_max, n_lm))
        coeff = np.empty((n_lm, n_species * n_max))
        spectrum = np.empty((l_max + 1, n_species * n_max * (n_species * n_max + 1) // 2))
        radial = np.empty((l_max + 1, n_max))
        ylm = np.empty(n_lm)
        ps_factor = np.empty(l_max + 1)
        for l in range(l_max + 1):
            ps_factor[l] = 1.0 / np.sqrt(2.0 * l + 1.0)
        for c in range(t * n_c // n_tasks, (t + 1) * n_c // n_tasks):
            _centre_spectrum(c, offsets, j, distances, vectors, channel, channel[centers[c]], central_all, rb, alpha, rc,
                             width, transform, l0, central_weight, l_max, n_species, ylm_norm, normalise, sigma0,
                             raw, coeff, spectrum, radial, ylm, ps_factor, out[c])


@njit(cache=True, nogil=True, parallel=True)
def neighbour_mean(offsets, centers, j, values, out):
    """``out[c] = (values[i] + Σ_j values[j]) / (1 + n_neighbours)`` for each centre i = centers[c]."""
    for c in prange(offsets.shape[0] - 1):
        acc = values[centers[c]]
        for p in range(offsets[c], offsets[c + 1]):
            acc += values[j[p]]
        out[c] = acc / (1 + offsets[c + 1] - offsets[c])
