"""Numba kernels of the cell-list neighbour search.

Plain arrays in, plain arrays out; no validation here (see
:mod:`gstorder.neighbors`). Each kernel exists in a serial and a parallel
compilation of the same Python function.
"""

import numpy as np
from numba import njit, prange


def visit_pairs_serial(
    home_cells, home_start, visit, centers, sorted_pos, sorted_index, sorted_types, sorted_radii, sorted_wrap,
    pos, types, radii, wrap, bin_start, n_bins, reach, pbc, basis, cut_matrix, max_cutoff,
    self_interaction, half, counts, offsets, out_i, out_j, out_d, out_vec, out_shift,
):
    """Count (``offsets`` and ``out_*`` None) or write the pairs of each centre.

    Work is split over the occupied home cells ``home_cells``; the centres
    of home cell ``h`` are ``centers[visit[home_start[h]:home_start[h + 1]]]``.
    Every neighbour cell (with its periodic image shift) is visited once per
    home cell, and pair number ``n`` of centre ``c`` goes to
    ``offsets[c] + n``: one thread owns each centre, so no writes race.
    ``counts`` must be zero on entry; it holds the pairs per centre on exit.
    """
    _cell_range_pairs(
        0, home_cells.shape[0], home_cells, home_start, visit, centers, sorted_pos, sorted_index,
        sorted_types, sorted_radii, sorted_wrap, pos, types, radii, wrap, bin_start, n_bins, reach, pbc,
        basis, cut_matrix, max_cutoff, self_interaction, half, counts, offsets, out_i, out_j, out_d,
        out_vec, out_shift,
    )


@njit(cache=True, nogil=True, parallel=True)
def visit_pairs_parallel(
    home_cells, home_start, visit, centers, sorted_pos, sorted_index, sorted_types, sorted_radii, sorted_wrap,
    pos, types, radii, wrap, bin_start, n_bins, reach, pbc, basis, cut_matrix, max_cutoff,
    self_interaction, half, counts, offsets, out_i, out_j, out_d, out_vec, out_shift, n_tasks,
):
    """:func:`visit_pairs_serial` over ``n_tasks`` contiguous ranges of home cells, one task per range."""
    n_home = home_cells.shape[0]
    n_tasks = min(n_home, n_tasks)
    for task in prange(n_tasks):
        _cell_range_pairs(
            task * n_home // n_tasks, (task + 1) * n_home // n_tasks, home_cells, home_start, visit, centers,
            sorted_pos, sorted_index, sorted_types, sorted_radii, sorted_wrap, pos, types, radii, wrap,
            bin_start, n_bins, reach, pbc, basis, cut_matrix, max_cutoff, self_interaction, half, counts,
            offsets, out_i, out_j, out_d, out_vec, out_shift,
        )


@njit(cache=True, nogil=True)
def _cell_range_pairs(
    h_first, h_last, home_cells, home_start, visit, centers, sorted_pos, sorted_index, sorted_types,
    sorted_radii, sorted_wrap, pos, types, radii, wrap, bin_start, n_bins, reach, pbc, basis, cut_matrix,
    max_cutoff, self_interaction, half, counts, offsets, out_i, out_j, out_d, out_vec, out_shift,
):
    # Ranges rather than single cells per call: few calls, so no contention on
    # array reference counts, and the loop is compiled as plain serial code.
    max2 = max_cutoff * max_cutoff
    nx, ny, nz = n_bins[0], n_bins[1], n_bins[2]
    for h in range(h_first, h_last):
        home = home_cells[h]
        v_first, v_last = home_start[h], home_start[h + 1]
        bz = home % nz
        by = (home // nz) % ny
        bx = home // (ny * nz)
        for dx in range(-reach[0], reach[0] + 1):
            cx = bx + dx
            sx = 0
            if cx < 0 or cx >= nx:  # outside the grid: an image, or nothing
                if not pbc[0]:
                    continue
                sx = cx // nx
                cx -= sx * nx
            for dy in range(-reach[1], reach[1] + 1):
                cy = by + dy
                sy = 0
                if cy < 0 or cy >= ny:  # outside the grid: an image, or nothing
                    if not pbc[1]:
                        continue
                    sy = cy // ny
                    cy -= sy * ny
                for dz in range(-reach[2], reach[2] + 1):
                    cz = bz + dz
                    sz = 0
                    if cz < 0 or cz >= nz:  # outside the grid: an image, or nothing
                        if not pbc[2]:
                            continue
                        sz = cz // nz
                        cz -= sz * nz
                    b = (cx * ny + cy) * nz + cz
                    first, last = bin_start[b], bin_start[b + 1]
                    if first == last:
                        continue
                    tx = sx * basis[0, 0] + sy * basis[1, 0] + sz * basis[2, 0]
                    ty = sx * basis[0, 1] + sy * basis[1, 1] + sz * basis[2, 1]
                    tz = sx * basis[0, 2] + sy * basis[1, 2] + sz * basis[2, 2]
                    for v in range(v_first, v_last):
                        c = visit[v]
                        i = centers[c]
                        ox = tx - pos[i, 0]
                        oy = ty - pos[i, 1]
                        oz = tz - pos[i, 2]
                        ti = types[i]
                        ri = radii[i]
                        n = counts[c]
                        for s in range(first, last):
                            j = sorted_index[s]
                            if half and j < i:  # decided before any arithmetic: half the candidates
                                continue
                            vx = sorted_pos[s, 0] + ox
                            vy = sorted_pos[s, 1] + oy
                            vz = sorted_pos[s, 2] + oz
                            d2 = vx * vx + vy * vy + vz * vz
                            if d2 >= max2:
                                continue
                            rc = cut_matrix[ti, sorted_types[s]] + ri + sorted_radii[s]
                            if d2 >= rc * rc:
                                continue
                            # shift relative to the positions as given (unwrapped)
                            hx = sx + wrap[i, 0] - sorted_wrap[s, 0]
                            hy = sy + wrap[i, 1] - sorted_wrap[s, 1]
                            hz = sz + wrap[i, 2] - sorted_wrap[s, 2]
                            if j == i and hx == 0 and hy == 0 and hz == 0 and not self_interaction:
                                continue
                            if half and j == i and (hx < 0 or (hx == 0 and (hy < 0 or (hy == 0 and hz < 0)))):
                                continue
                            if offsets is not None:  # pruned at compile time in counting mode
                                p = offsets[c] + n
                                out_i[p] = i
                                out_j[p] = j
                                out_d[p] = np.sqrt(d2)
                                out_vec[p, 0] = vx
                                out_vec[p, 1] = vy
                                out_vec[p, 2] = vz
                                out_shift[p, 0] = hx
                                out_shift[p, 1] = hy
                                out_shift[p, 2] = hz
                            n += 1
                        counts[c] = n


visit_pairs_serial = njit(cache=True, nogil=True)(visit_pairs_serial)


@njit(cache=True, nogil=True)
def counting_sort(keys, n_keys):
    """Stable order of ``keys`` (ints in ``[0, n_keys)``) and the start of each key's run."""
    start = np.zeros(n_keys + 1, dtype=np.int64)
    for k in keys:
        start[k + 1] += 1
    for k in range(n_keys):
        start[k + 1] += start[k]
    cursor = start[:-1].copy()
    order = np.empty(keys.shape[0], dtype=np.int64)
    for a in range(keys.shape[0]):
        order[cursor[keys[a]]] = a
        cursor[keys[a]] += 1
    return order, start


@njit(cache=True, nogil=True)
def fractional_coordinates(pos, recip, pbc):
    """Fractional coordinates, wrapped into [0, 1) along periodic axes, and the integer wraps.

    Returns ``frac`` (n, 3) and ``wrap`` (n, 3) with ``pos = (frac + wrap) @ basis``
    along periodic axes. Positions must be finite.
    """
    n = pos.shape[0]
    frac = np.empty((n, 3))
    wrap = np.zeros((n, 3), dtype=np.int64)
    for a in range(n):
        for d in range(3):
            f = pos[a, 0] * recip[0, d] + pos[a, 1] * recip[1, d] + pos[a, 2] * recip[2, d]
            if pbc[d]:
                w = np.floor(f)
                wrap[a, d] = np.int64(w)
                f -= w
            frac[a, d] = f
    return frac, wrap


@njit(cache=True, nogil=True)
def cell_index(frac, lower, extent, n_bins):
    """Flat index of the grid cell of each atom (clamped into the grid)."""
    n = frac.shape[0]
    out = np.empty(n, dtype=np.int64)
    for a in range(n):
        flat = 0
        for d in range(3):
            b = np.int64(np.floor((frac[a, d] - lower[d]) / extent[d] * n_bins[d]))
            if b < 0:
                b = 0
            elif b >= n_bins[d]:
                b = n_bins[d] - 1
            flat = flat * n_bins[d] + b
        out[a] = flat
    return out
