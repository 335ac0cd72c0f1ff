"""The ``gstorder`` command's entry point, outside the package so that a Ctrl-C while gstorder imports is one line too.

Importing :mod:`gstorder` loads NumPy, Numba, SciPy, xarray, ASE and dask (seconds on a cold file system); an
interrupt then would otherwise end in a traceback of whatever module was loading.
"""

import sys


def main() -> int:
    try:
        from gstorder.cli import main as run
    except KeyboardInterrupt:
        print("gstorder: interrupted", file=sys.stderr)
        return 130
    return run()


if __name__ == "__main__":
    sys.exit(main())
