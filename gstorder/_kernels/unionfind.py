"""Union-find (disjoint sets) over integer labels, shared by the cluster kernels (nuclei, cavities)."""

from numba import njit


@njit(cache=True, nogil=True)
def find(parent, x):
    """Root of ``x``, halving the path on the way (``parent`` updated in place)."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True, nogil=True)
def union(parent, x, y):
    """Join the sets of ``x`` and ``y``; the smaller root becomes the root, so results do not depend on the order."""
    x, y = find(parent, x), find(parent, y)
    if x != y:
        if x < y:
            parent[y] = x
        else:
            parent[x] = y
