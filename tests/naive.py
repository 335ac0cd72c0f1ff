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


def direct_structure_factor(atoms, edges, weight=None):
    """|Σ_j w_j exp(i k·r_j)|² / (N ⟨w²⟩) averaged over every reciprocal-lattice vector k (±k, k ≠ 0) in each |k| bin.

    ``weight(symbol, |k|)`` gives w_j (default 1). Returns (S per bin, vectors per bin counting ±k both).
    """
    cell = atoms.cell.array
    recip = 2 * np.pi * np.linalg.inv(cell).T
    q_max = edges[-1]
    reach = [int(np.floor(q_max * np.linalg.norm(a) / (2 * np.pi))) for a in cell]
    hkl = np.array(list(itertools.product(*(range(-n, n + 1) for n in reach))))
    k = hkl @ recip
    q = np.linalg.norm(k, axis=1)
    keep = (q > 0) & (q >= edges[0]) & (q < q_max)
    k, q = k[keep], q[keep]
    symbols = np.array(atoms.get_chemical_symbols())
    w = np.ones((len(k), len(atoms))) if weight is None else np.array([[weight(s, x) for s in symbols] for x in q])
    amplitude = (w * np.exp(1j * k @ atoms.positions.T)).sum(axis=1)
    s = np.abs(amplitude) ** 2 / (len(atoms) * (w**2).mean(axis=1))
    b = np.searchsorted(edges, q, side="right") - 1
    counts = np.bincount(b, minlength=len(edges) - 1)
    with np.errstate(invalid="ignore"):
        return np.bincount(b, s, minlength=len(edges) - 1) / counts, counts


def _bond_graph(atoms, cutoff):
    """Adjacency {atom: [(neighbour, image shift)]} of bonds shorter than ``cutoff`` (self-images left out)."""
    graph = {k: [] for k in range(len(atoms))}
    inv = np.linalg.inv(atoms.cell.array)
    for i, j, vec in pairs_with_images(atoms, cutoff):
        if i == j:
            continue
        shift = np.rint((atoms.positions[i] + vec - atoms.positions[j]) @ inv).astype(int)
        graph[i].append((j, tuple(shift)))
    return graph


def _distances(graph, source, lifted, depth):
    """Breadth-first distances from ``source`` (an atom, or (atom, image) when ``lifted``) up to ``depth``."""
    seen = {source: 0}
    frontier = [source]
    for d in range(1, depth + 1):
        new = []
        for node in frontier:
            atom, image = node if lifted else (node, None)
            for j, s in graph[atom]:
                nxt = (j, tuple(np.add(image, s))) if lifted else j
                if nxt not in seen:
                    seen[nxt] = d
                    new.append(nxt)
        frontier = new
    return seen


def rings_by_enumeration(atoms, cutoff, max_size, lifted=False):
    """Ring counts by size (index = atoms in the ring): every simple cycle of (atom, image) nodes up to ``max_size``
    that closes on the same image, kept when no two of its nodes are closer in the graph than along the ring
    (distances between atoms, images identified, unless ``lifted``: between the same (atom, image) nodes)."""
    graph = _bond_graph(atoms, cutoff)
    found = set()
    for a in graph:
        stack = [((a, (0, 0, 0)),)]
        while stack:
            path = stack.pop()
            atom, image = path[-1]
            for j, s in graph[atom]:
                node = (j, tuple(np.add(image, s)))
                if node == path[0] and len(path) >= 3:
                    found.add(_canonical(path))
                elif node not in path and len(path) < max_size and min(j for j, _ in path + (node,)) >= a:
                    stack.append(path + (node,))
    counts = np.zeros(max_size + 1, dtype=int)
    for ring in found:
        k = len(ring)
        atoms_only = [n[0] for n in ring]
        if not lifted and len(set(atoms_only)) < k:
            continue
        ok = True
        for m in range(k):
            source = ring[m] if lifted else ring[m][0]
            dist = _distances(graph, source, lifted, k // 2)
            for n in range(m + 1, k):
                target = ring[n] if lifted else ring[n][0]
                if dist.get(target, k) < min(n - m, k - n + m):
                    ok = False
        counts[k] += ok
    return counts


def _canonical(path):
    """One key per ring: its nodes translated so the smallest comes first at image 0, read in the smaller direction."""
    k = len(path)
    keys = []
    for start in range(k):
        shift = np.array(path[start][1])
        for step in (1, -1):
            seq = tuple((path[(start + step * m) % k][0], tuple(np.subtract(path[(start + step * m) % k][1], shift)))
                        for m in range(k))
            keys.append(seq)
    return min(keys)


def cavity_points(atoms, probe, spacing):
    """Brute force: the grid ((i+½)/n1, (j+½)/n2, (k+½)/n3) of the cell, True where every atom image is farther than
    ``probe``; and its face-connected components, joined across the periodic faces (labels per point, count)."""
    from scipy import ndimage

    cell = atoms.cell.array
    shape = tuple(max(1, int(np.ceil(np.linalg.norm(v) / spacing - 1e-9))) for v in cell)
    grids = np.meshgrid(*[(np.arange(n) + 0.5) / n for n in shape], indexing="ij")
    points = np.stack([g.ravel() for g in grids], axis=1) @ cell
    free = np.ones(len(points), dtype=bool)
    for shift in itertools.product((-1, 0, 1), repeat=3):
        for r in atoms.positions + np.array(shift) @ cell:
            free &= np.sum((points - r) ** 2, axis=1) > probe**2
    free = free.reshape(shape)
    labels, n = ndimage.label(free)  # 6-connectivity inside the box
    parent = list(range(n + 1))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for axis in range(3):  # join components across each periodic face
        a, b = np.take(labels, 0, axis=axis), np.take(labels, -1, axis=axis)
        for x, y in zip(a.ravel(), b.ravel()):
            if x and y:
                parent[find(x)] = find(y)
    roots = np.array([find(x) for x in range(n + 1)])
    unique = np.unique(roots[1:]) if n else np.array([], dtype=int)
    return free, roots[labels], len(unique)
