"""Numba kernels of the ring statistics (see :mod:`gstorder.network`).

The bond graph is a CSR list over atoms: ``offsets`` (n + 1), neighbour
``nbr`` and bond vector ``vec`` (Å, from the atom to the neighbour's image).
Rings are enumerated root by root (Franzblau 1991): from root ``a`` a
breadth-first search gives graph distances, walks leave ``a`` moving one
step farther at a time, turn (one step at equal or smaller distance) and
return one step closer at a time; a walk that comes back to ``a`` with bond
vectors summing to zero (not around the cell) is a candidate ring, kept if
it is a shortest-path ring: no two of its atoms are joined by a path shorter
than the way along the ring. Each ring is counted once, from its atom of
lowest index, in the direction of its lower-index neighbour.

``kind = 0`` measures distances on the graph of atoms, periodic images
identified (as matscipy's ``ring_statistics``); ``kind = 1`` on the
image-resolved (unwrapped) network, where a path must end at the same
periodic image to be a shortcut (primitive rings).

Two exact shortcuts (kind 0) keep the walks short in crystals, where
many equal-length walks lead to the same atoms:

* the distances from a walk's first atom decide whether a walk may turn
  back at an atom; an atom walking away none of whose onward walks could
  turn is *dead* for that first atom, whichever way the walk reached it,
  and is not walked through again;
* each root's search is kept (``BALL_SLOTS`` searches, by atom, of at
  most ``BALL_ATOMS`` atoms: larger ones, e.g. to 16-rings in a dense
  crystal, are searched again) for the later roots whose walks start
  through it: roots taken in decreasing order meet their walks' first
  atoms (of higher index) as earlier roots.

Memory per call, i.e. per thread: a few arrays of the atom count, the kept
searches (10 MB) and the rings found; no N × N distance map. ``find_rings``
handles the roots it is given, so callers split the roots among threads
(``nogil``).
"""

import numpy as np
from numba import njit

from .neighbors import counting_sort

#: Closure tolerance on |Σ bond vectors|² (Å²), as matscipy.
CLOSED = 1e-4

#: Atoms at the start of a walk whose distances prune the walks back.
CACHED = 2

#: Searches of earlier roots kept for the walks' first atoms (kind 0): slots (a power of two), atoms per search.
BALL_SLOTS = 4096
BALL_ATOMS = 512


@njit(cache=True, nogil=True)
def bond_csr(i, j, vectors, shifts, number, n_atoms):
    """The bond graph as CSR over atoms numbered ``number[atom]``: (offsets, nbr, vec, shifts), pairs i == j left out.

    Each atom's bonds keep the order of the pair list (the neighbour search's stable counting sort).
    """
    kept = np.flatnonzero(i != j)
    keys = np.empty(kept.shape[0], dtype=np.int64)
    for q in range(kept.shape[0]):
        keys[q] = number[i[kept[q]]]
    order, offsets = counting_sort(keys, n_atoms)
    m = kept.shape[0]
    nbr = np.empty(m, dtype=np.int64)
    vec = np.empty((m, 3))
    shift = np.empty((m, 3), dtype=np.int64)
    for q in range(m):
        p = kept[order[q]]
        nbr[q] = number[j[p]]
        for c in range(3):
            vec[q, c] = vectors[p, c]
            shift[q, c] = shifts[p, c]
    return offsets, nbr, vec, shift


@njit(cache=True, nogil=True)
def ring_tallies(sizes, atoms, frame_atom, first, n_sizes, group_of, n):
    """Rings of each size through each atom (n, n_sizes), the ABAB squares and the atoms in one (bool, n).

    ``atoms`` are the rings' atoms concatenated (as ``find_rings`` returns them), numbered as in the search;
    ``frame_atom`` maps them to the frame's; ``group_of`` is each frame atom's chemical group (−1: none); sizes start
    at ``first``. A square is ABAB when its atoms alternate between the two groups.
    """
    per_atom = np.zeros((n, n_sizes), dtype=np.int64)
    in_abab = np.zeros(n, dtype=np.bool_)
    abab = 0
    q = 0
    for r in range(sizes.shape[0]):
        k = sizes[r]
        for m in range(k):
            per_atom[frame_atom[atoms[q + m]], k - first] += 1
        if k == 4:
            g0, g1 = group_of[frame_atom[atoms[q]]], group_of[frame_atom[atoms[q + 1]]]
            g2, g3 = group_of[frame_atom[atoms[q + 2]]], group_of[frame_atom[atoms[q + 3]]]
            if g0 >= 0 and g1 >= 0 and g0 == g2 and g1 == g3 and g0 != g1:
                abab += 1
                for m in range(4):
                    in_abab[frame_atom[atoms[q + m]]] = True
        q += k
    return per_atom, abab, in_abab


@njit(cache=True, nogil=True)
def _key_slot(keys, key):
    """Slot of ``key`` in the open-addressing table ``keys`` (−1 marks a free slot)."""
    mask = keys.shape[0] - 1
    h = (key * np.int64(0x9E3779B97F4A7C15)) & mask
    while keys[h] != -1 and keys[h] != key:
        h = (h + 1) & mask
    return h


@njit(cache=True, nogil=True)
def _node_key(atom, s0, s1, s2):
    """One int64 for (atom, image shift); shifts within ±1023."""
    return ((atom * 2048 + (s0 + 1024)) * 2048 + (s1 + 1024)) * 2048 + (s2 + 1024)


@njit(cache=True, nogil=True)
def _bfs(source, s_shift, depth, offsets, nbr, shifts, kind, dist, touched, queue, keys, values, used):
    """Breadth-first distances from ``source`` up to ``depth`` bonds.

    kind 0: into ``dist`` (per atom, −1 = unreached), reached atoms listed in
    ``touched``; returns how many. kind 1: into the hash table ``keys`` /
    ``values`` of (atom, image) nodes, slots used listed in ``used``;
    ``queue`` holds (atom, s0, s1, s2) rows; returns −1 (tables left empty)
    when more nodes are reached than they can hold.
    """
    n_t = 0
    if kind == 0:
        dist[source] = 0
        touched[0] = source
        n_t = 1
        head = 0
        while head < n_t:
            i = touched[head]
            head += 1
            d = dist[i]
            if d >= depth:
                continue
            for p in range(offsets[i], offsets[i + 1]):
                j = nbr[p]
                if dist[j] < 0:
                    dist[j] = d + 1
                    touched[n_t] = j
                    n_t += 1
        return n_t
    slot = _key_slot(keys, _node_key(source, s_shift[0], s_shift[1], s_shift[2]))
    keys[slot] = _node_key(source, s_shift[0], s_shift[1], s_shift[2])
    values[slot] = 0
    used[0] = slot
    queue[0, 0], queue[0, 1], queue[0, 2], queue[0, 3] = source, s_shift[0], s_shift[1], s_shift[2]
    n_t = 1
    head = 0
    while head < n_t:
        i, a0, a1, a2 = queue[head, 0], queue[head, 1], queue[head, 2], queue[head, 3]
        d = values[used[head]]
        head += 1
        if d >= depth:
            continue
        for p in range(offsets[i], offsets[i + 1]):
            j = nbr[p]
            b0, b1, b2 = a0 + shifts[p, 0], a1 + shifts[p, 1], a2 + shifts[p, 2]
            key = _node_key(j, b0, b1, b2)
            slot = _key_slot(keys, key)
            if keys[slot] == -1:
                if n_t >= used.shape[0]:  # the table would fill up: undo, and let the caller grow it
                    _reset(1, n_t, dist, touched, keys, used)
                    return -1
                keys[slot] = key
                values[slot] = d + 1
                used[n_t] = slot
                queue[n_t, 0], queue[n_t, 1], queue[n_t, 2], queue[n_t, 3] = j, b0, b1, b2
                n_t += 1
    return n_t


@njit(cache=True, nogil=True)
def _reset(kind, n_t, dist, touched, keys, used):
    if kind == 0:
        for k in range(n_t):
            dist[touched[k]] = -1
    else:
        for k in range(n_t):
            keys[used[k]] = -1


@njit(cache=True, nogil=True)
def _distance(kind, atom, s0, s1, s2, dist, keys, values):
    """Distance of (atom, image) in the last search (−1: not reached)."""
    if kind == 0:
        return dist[atom]
    slot = _key_slot(keys, _node_key(atom, s0, s1, s2))
    return values[slot] if keys[slot] != -1 else -1


@njit(cache=True, nogil=True)
def _shortest_path(ring, ring_shift, k, first, t_away, offsets, nbr, shifts, kind, dist, touched, queue, keys, values, used):
    """1 if no atom walking away (indices ``first``..``t_away``) has a shorter path than the ring's to an atom walking
    back (indices after ``t_away``), else 0; −1 when a search overflows its tables.

    The other pairs need no search: the atoms walking away, and those walking back, lie on shortest paths from the
    root (their distance to it changes by one each step), so any two of them are as far apart as along the ring.
    """
    for m in range(first, t_away + 1):
        reach = 0  # farthest ring distance from m to an atom walking back
        for n in range(t_away + 1, k):
            reach = max(reach, min(n - m, k - (n - m)))
        if reach <= 1:
            continue
        n_t = _bfs(ring[m], ring_shift[m], reach - 1, offsets, nbr, shifts, kind, dist, touched, queue, keys, values,
                   used)
        if n_t < 0:
            return -1
        ok = True
        for n in range(t_away + 1, k):
            dn = min(n - m, k - (n - m))
            d = _distance(kind, ring[n], ring_shift[n, 0], ring_shift[n, 1], ring_shift[n, 2], dist, keys, values)
            if d >= 0 and d < dn:
                ok = False
                break
        _reset(kind, n_t, dist, touched, keys, used)
        if not ok:
            return 0
    return 1


@njit(cache=True, nogil=True)
def _keep_ball(a, n_t, touched, dist, depth, ball_atom, ball_n, ball, ball_d):
    """Keep the atoms within ``depth`` bonds of ``a`` (its search, in nondecreasing distance) in ``a``'s slot, if they fit."""
    n = 0
    while n < n_t and dist[touched[n]] <= depth:
        n += 1
    if n > ball.shape[1]:
        return
    slot = a & (ball_atom.shape[0] - 1)
    ball_atom[slot] = a
    ball_n[slot] = n
    for k in range(n):
        ball[slot, k] = touched[k]
        ball_d[slot, k] = dist[touched[k]]


@njit(cache=True, nogil=True)
def _copy_ball(x, ball_atom, ball_n, ball, ball_d, dist, touched):
    """The kept search of ``x`` into ``dist`` / ``touched``: how many atoms it holds, or −1 if it is not kept."""
    slot = x & (ball_atom.shape[0] - 1)
    if ball_atom[slot] != x:
        return -1
    n = ball_n[slot]
    for k in range(n):
        atom = ball[slot, k]
        dist[atom] = ball_d[slot, k]
        touched[k] = atom
    return n


@njit(cache=True, nogil=True)
def _after(path, path_shift, m, n):
    """Whether (atom, image) ``m`` of the path sorts after ``n``."""
    if path[m] != path[n]:
        return path[m] > path[n]
    for c in range(3):
        if path_shift[m, c] != path_shift[n, c]:
            return path_shift[m, c] > path_shift[n, c]
    return False


@njit(cache=True, nogil=True)
def find_rings(roots, offsets, nbr, vec, shifts, max_size, kind, n_atoms, cap):
    """Shortest-path rings of at most ``max_size`` atoms whose lowest atom index is one of ``roots``.

    ``cap`` (a power of two) sizes the hash tables of the image-resolved
    searches (kind 1): at least twice the (atom, image) nodes within
    ``max_size // 2`` bonds of any atom. Returns ``(sizes, atoms)``: the
    size of each ring found and their atoms, concatenated in ring order
    (root first), and False if ``cap`` was too small (call again with a larger one).
    Roots in decreasing order make the most of the kept searches.
    """
    dist_a = -np.ones(n_atoms, dtype=np.int64)
    dist = -np.ones(n_atoms, dtype=np.int64)
    touched_a = np.empty(n_atoms, dtype=np.int64)
    touched = np.empty(n_atoms, dtype=np.int64)
    cap = cap if kind == 1 else 1
    keys_a = -np.ones(cap, dtype=np.int64)
    values_a = np.zeros(cap, dtype=np.int64)
    used_a = np.empty(cap // 2 + 1, dtype=np.int64)
    queue_a = np.empty((cap // 2 + 1, 4), dtype=np.int64)
    keys = -np.ones(cap, dtype=np.int64)
    values = np.zeros(cap, dtype=np.int64)
    used = np.empty(cap // 2 + 1, dtype=np.int64)
    queue = np.empty((cap // 2 + 1, 4), dtype=np.int64)
    # distances from the walk's first few atoms, searched once per walk prefix: a walk back that comes closer to one of
    # them than along the ring can only make rings that are not shortest-path rings, so it stops there
    n_cached = min(CACHED, max_size // 2)
    dist_l = -np.ones((n_cached + 1, n_atoms), dtype=np.int64)
    touched_l = np.empty((n_cached + 1, n_atoms), dtype=np.int64)
    keys_l = -np.ones((n_cached + 1, cap), dtype=np.int64)
    values_l = np.zeros((n_cached + 1, cap), dtype=np.int64)
    used_l = np.empty((n_cached + 1, cap // 2 + 1), dtype=np.int64)
    queue_l = np.empty((n_cached + 1, cap // 2 + 1, 4), dtype=np.int64)
    n_tl = -np.ones(n_cached + 1, dtype=np.int64)  # atoms in each level's search (-1: none for the current prefix)
    turn = np.zeros(max_size + 2, dtype=np.int64)  # level of the last atom walking away, for the levels walking back
    path = np.empty(max_size + 1, dtype=np.int64)
    path_shift = np.zeros((max_size + 1, 3), dtype=np.int64)
    path_vec = np.zeros((max_size + 1, 3))
    path_d = np.empty(max_size + 1, dtype=np.int64)
    cursor = np.empty(max_size + 1, dtype=np.int64)
    back = np.zeros(max_size + 1, dtype=np.bool_)
    ring = np.empty(max_size + 1, dtype=np.int64)
    ring_shift = np.zeros((max_size + 1, 3), dtype=np.int64)
    zero = np.zeros(3, dtype=np.int64)
    # an atom walking away whose onward walks turned nowhere the first atom allows leads to no ring by any other way
    # there either: walking away, an atom's level is its distance to the root, so the first atom's check of a turn,
    # d(path[1], j) < min(level, dj + 1), depends on the root, path[1], the atom and its neighbour only; the walks on
    # from the atom are the same however it was reached (distances rise, nothing repeats); and the one filter before the
    # check that depends on the walk, no step straight back, drops a turn the check would refuse anyway (the atom before
    # is two bonds closer to path[1]). The check against path[2], which does depend on the walk, comes after live is
    # set. dead[x] == branch marks x for the current first atom (kind 0); live[level]: a turn below the level's atom
    # passed the first atom's check
    dead = np.full(n_atoms if kind == 0 else 1, -1, dtype=np.int64)
    live = np.zeros(max_size + 2, dtype=np.bool_)
    branch = 0

    # each root's search to half - 1 bonds, kept by atom: a walk's first atoms have higher indices than its root, so
    # with the roots taken in decreasing order their searches were mostly made already, and copying one costs less
    # than searching again
    slots = BALL_SLOTS if kind == 0 else 1
    ball_atom = -np.ones(slots, dtype=np.int64)
    ball_n = np.zeros(slots, dtype=np.int64)
    ball = np.empty((slots, BALL_ATOMS if kind == 0 else 1), dtype=np.int32)
    ball_d = np.empty((slots, BALL_ATOMS if kind == 0 else 1), dtype=np.int8)

    out_sizes = np.empty(16, dtype=np.int64)
    out_atoms = np.empty(64, dtype=np.int64)
    n_rings = 0
    n_out = 0
    half = max_size // 2
    for a in roots:
        n_ta = _bfs(a, zero, half, offsets, nbr, shifts, kind, dist_a, touched_a, queue_a, keys_a, values_a, used_a)
        if n_ta < 0:
            return out_sizes[:0].copy(), out_atoms[:0].copy(), False
        if kind == 0:
            _keep_ball(a, n_ta, touched_a, dist_a, half - 1, ball_atom, ball_n, ball, ball_d)
        path[0] = a
        path_d[0] = 0
        cursor[0] = offsets[a]
        back[0] = False
        level = 0
        while level >= 0:
            i = path[level]
            if cursor[level] >= offsets[i + 1]:
                if kind == 0 and level > 0 and not back[level]:
                    if live[level]:
                        live[level - 1] = True
                    else:
                        dead[i] = branch
                level -= 1
                continue
            p = cursor[level]
            cursor[level] += 1
            j = nbr[p]
            if j < a:
                continue
            s0 = path_shift[level, 0] + shifts[p, 0]
            s1 = path_shift[level, 1] + shifts[p, 1]
            s2 = path_shift[level, 2] + shifts[p, 2]
            if level > 0 and j == path[level - 1] and (kind == 0 or (s0 == path_shift[level - 1, 0] and
                                                                     s1 == path_shift[level - 1, 1] and
                                                                     s2 == path_shift[level - 1, 2])):
                continue  # no step straight back (kind 0: to the previous atom in any image, as matscipy)
            dj = _distance(kind, j, s0, s1, s2, dist_a, keys_a, values_a)
            di = path_d[level]
            if j == a and kind == 1 and (s0 != 0 or s1 != 0 or s2 != 0):
                # another image of the root: an ordinary atom of the image-resolved network, but each ring through several
                # images of its lowest atom is counted from one of them only (the others at lexicographically later images)
                if s0 < 0 or (s0 == 0 and (s1 < 0 or (s1 == 0 and s2 < 0))):
                    continue
            elif j == a:
                # back at the root: a ring if walking back, its bonds sum to zero and it is a shortest-path ring
                if not back[level] or di != 1 or level < 2:
                    continue
                x = path_vec[level, 0] + vec[p, 0]
                y = path_vec[level, 1] + vec[p, 1]
                z = path_vec[level, 2] + vec[p, 2]
                if x * x + y * y + z * z >= CLOSED:
                    continue
                k = level + 1
                if _after(path, path_shift, 1, level):  # each ring once: towards the lower (atom, image) neighbour of the root
                    continue
                for m in range(k):
                    ring[m] = path[m]
                    ring_shift[m, 0], ring_shift[m, 1], ring_shift[m, 2] = path_shift[m, 0], path_shift[m, 1], path_shift[m, 2]
                # the first atoms walking away were checked against every atom walking back as it came
                verdict = _shortest_path(ring, ring_shift, k, min(turn[level], n_cached) + 1, turn[level], offsets, nbr,
                                         shifts, kind, dist, touched, queue, keys, values, used)
                if verdict < 0:
                    return out_sizes[:0].copy(), out_atoms[:0].copy(), False
                if verdict == 0:
                    continue
                if n_rings == out_sizes.shape[0]:
                    grown = np.empty(2 * n_rings, dtype=np.int64)
                    grown[:n_rings] = out_sizes
                    out_sizes = grown
                while n_out + k > out_atoms.shape[0]:
                    grown = np.empty(2 * out_atoms.shape[0], dtype=np.int64)
                    grown[:n_out] = out_atoms[:n_out]
                    out_atoms = grown
                out_sizes[n_rings] = k
                n_rings += 1
                for m in range(k):
                    out_atoms[n_out + m] = ring[m]
                n_out += k
                continue
            if dj < 0:
                continue
            if back[level]:
                if dj != di - 1 or level + 1 + dj > max_size:
                    continue
                now_back = True
            elif dj == di + 1:
                if 2 * dj - 1 > max_size or level + 1 > max_size:
                    continue
                if kind == 0:
                    if level == 0:
                        branch += 1
                    elif dead[j] == branch:
                        continue
                now_back = False
            elif dj == di or dj == di - 1:
                if level + 1 + dj > max_size or level == 0:
                    continue
                now_back = True
            else:
                continue
            if now_back:
                t_away = turn[level] if back[level] else level
                n = level + 1
                pruned = False
                for m in range(1, min(t_away, n_cached) + 1):
                    if n_tl[m] < 0:
                        # to half - 1 bonds: a shortcut is shorter than the way along the ring, at most half the ring's
                        # max_size atoms, so only distances below half can prune (one level less: 40 % fewer atoms)
                        n_tl[m] = _copy_ball(path[m], ball_atom, ball_n, ball, ball_d, dist_l[m], touched_l[m]) \
                            if kind == 0 else -1
                        if n_tl[m] < 0:
                            n_tl[m] = _bfs(path[m], path_shift[m], half - 1, offsets, nbr, shifts, kind, dist_l[m],
                                           touched_l[m], queue_l[m], keys_l[m], values_l[m], used_l[m])
                        if n_tl[m] < 0:
                            return out_sizes[:0].copy(), out_atoms[:0].copy(), False
                    # in a ring of k = n + dj atoms, atoms m and n are min(n - m, k - n + m) apart
                    d = _distance(kind, j, s0, s1, s2, dist_l[m], keys_l[m], values_l[m])
                    if d >= 0 and d < min(n - m, dj + m):
                        pruned = True
                        break
                    if m == 1 and not back[level]:
                        live[level] = True  # a turn the first atom allows: this walk away is not dead
                if pruned:
                    continue
                turn[n] = t_away
            elif level + 1 <= n_cached and n_tl[level + 1] >= 0:
                _reset(kind, n_tl[level + 1], dist_l[level + 1], touched_l[level + 1], keys_l[level + 1], used_l[level + 1])
                n_tl[level + 1] = -1
            repeat = False
            for m in range(1, level + 1):
                if path[m] == j and path_shift[m, 0] == s0 and path_shift[m, 1] == s1 and path_shift[m, 2] == s2:
                    repeat = True
                    break
            if repeat:
                continue
            level += 1
            path[level] = j
            path_d[level] = dj
            path_shift[level, 0], path_shift[level, 1], path_shift[level, 2] = s0, s1, s2
            path_vec[level, 0] = path_vec[level - 1, 0] + vec[p, 0]
            path_vec[level, 1] = path_vec[level - 1, 1] + vec[p, 1]
            path_vec[level, 2] = path_vec[level - 1, 2] + vec[p, 2]
            back[level] = now_back
            live[level] = False
            cursor[level] = offsets[j]
        _reset(kind, n_ta, dist_a, touched_a, keys_a, used_a)
        for m in range(1, n_cached + 1):
            if n_tl[m] >= 0:
                _reset(kind, n_tl[m], dist_l[m], touched_l[m], keys_l[m], used_l[m])
                n_tl[m] = -1
    return out_sizes[:n_rings].copy(), out_atoms[:n_out].copy(), True
