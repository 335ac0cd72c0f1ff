"""Slow, obviously-correct NumPy references for the analysis kernels (stumpy's tests/naive.py idea)."""

import itertools

import numpy as np


def pairs_with_images(atoms, cutoff):
    """All (i, j, vector) with |r_j + S·cell - r_i| < cutoff, by enumerating periodic images."""
    pos = atoms.positions
    cell = atoms.cell.array
    pbc = atoms.pbc
    if pbc.any():
        volume = abs(np.linalg.det(cell))
        widths = [volume / np.linalg.norm(np.cross(cell[(a + 1) % 3], cell[(a + 2) % 3])) for a in range(3)]
    reach = [int(np.ceil(cutoff / widths[a])) + 1 if pbc[a] else 0 for a in range(3)]
    out = []
    for s in itertools.product(*(range(-k, k + 1) for k in reach)):
        shift = np.array(s) @ cell
        vec = pos[None, :, :] + shift - pos[:, None, :]
        d = np.linalg.norm(vec, axis=2)
        ok = d < cutoff
        if not any(s):
            np.fill_diagonal(ok, False)
        i, j = np.nonzero(ok)
        out += [(a, b, vec[a, b]) for a, b in zip(i, j)]
    return out


def neighbours_of(atoms, cutoff):
    """Per atom, the list of neighbour vectors (and neighbour indices)."""
    per = [[] for _ in range(len(atoms))]
    for i, j, v in pairs_with_images(atoms, cutoff):
        per[i].append((j, v))
    return per


def rdf_counts(atoms, r_max, n_bins):
    """Ordered pair counts per (species a, species b, bin), species in atomic-number order."""
    zs = np.unique(atoms.numbers)
    t = np.searchsorted(zs, atoms.numbers)
    counts = np.zeros((len(zs), len(zs), n_bins), dtype=np.int64)
    for i, j, v in pairs_with_images(atoms, r_max):
        b = min(int(np.linalg.norm(v) / r_max * n_bins), n_bins - 1)
        counts[t[i], t[j], b] += 1
    return counts


def angles(atoms, cutoff, centre_z=None):
    """All bond angles j-i-k (degrees, each unordered pair once) of centres of species ``centre_z``."""
    out = []
    for i, nbrs in enumerate(neighbours_of(atoms, cutoff)):
        if centre_z is not None and atoms.numbers[i] != centre_z:
            continue
        for (_, a), (_, b) in itertools.combinations(nbrs, 2):
            c = np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b)
            out.append(np.degrees(np.arccos(np.clip(c, -1, 1))))
    return np.array(out)


def tetrahedral_q(vectors):
    """q = 1 - 3/8 Σ_{j<k} (cos θ + 1/3)² of one centre."""
    s = 0.0
    for a, b in itertools.combinations(vectors, 2):
        s += (np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b) + 1 / 3) ** 2
    return 1 - 3 / 8 * s


def altbc_counts(atoms, r_min, r_max, delta, n_bins, centre_z=None):
    """ALTBC ordered-pair counts (n_bins, n_bins), the collinear pairs' ratios, and the number of centres."""
    hist = np.zeros((n_bins, n_bins), dtype=np.int64)
    ratios, n_c = [], 0
    for i, nbrs in enumerate(neighbours_of(atoms, r_max)):
        if centre_z is not None and atoms.numbers[i] != centre_z:
            continue
        n_c += 1
        vecs = [v for _, v in nbrs if r_min <= np.linalg.norm(v) < r_max]
        for a, b in itertools.permutations(range(len(vecs)), 2):
            va, vb = vecs[a], vecs[b]
            ra, rb = np.linalg.norm(va), np.linalg.norm(vb)
            if np.degrees(np.arccos(np.clip(np.dot(va, vb) / ra / rb, -1, 1))) >= 180 - delta:
                hist[min(int((ra - r_min) / (r_max - r_min) * n_bins), n_bins - 1),
                     min(int((rb - r_min) / (r_max - r_min) * n_bins), n_bins - 1)] += 1
                if a < b:
                    ratios.append(max(ra, rb) / min(ra, rb))
    return hist, np.array(ratios), n_c


def steinhardt(atoms, cutoff, l, average=False):
    """Per-atom q_l and ŵ_l (NaN without neighbours) from complex Y_lm over every m (scipy), by enumerating images."""
    from scipy.special import sph_harm_y

    from gstorder.order import wigner_3j

    n = len(atoms)
    qlm = np.zeros((n, 2 * l + 1), dtype=complex)
    count = np.zeros(n)
    neighbours = [[] for _ in range(n)]
    for i, j, v in pairs_with_images(atoms, cutoff):
        r = np.linalg.norm(v)
        theta, phi = np.arccos(v[2] / r), np.arctan2(v[1], v[0])
        qlm[i] += [sph_harm_y(l, m, theta, phi) for m in range(-l, l + 1)]
        count[i] += 1
        neighbours[i].append(j)
    with np.errstate(invalid="ignore", divide="ignore"):
        qlm /= count[:, None]
    qlm[count == 0] = 0
    if average:
        qlm = np.array([(qlm[i] + qlm[neighbours[i]].sum(axis=0)) / (1 + len(neighbours[i])) for i in range(n)])
    norm = (np.abs(qlm) ** 2).sum(axis=1)
    q = np.sqrt(4 * np.pi / (2 * l + 1) * norm)
    w = np.zeros(n)
    for m1 in range(-l, l + 1):
        for m2 in range(-l, l + 1):
            m3 = -m1 - m2
            if abs(m3) <= l:
                w += wigner_3j(l, l, l, m1, m2, m3) * (qlm[:, m1 + l] * qlm[:, m2 + l] * qlm[:, m3 + l]).real
    with np.errstate(invalid="ignore", divide="ignore"):
        w = w / norm**1.5
    q[count == 0] = w[count == 0] = np.nan
    return q, w, qlm
