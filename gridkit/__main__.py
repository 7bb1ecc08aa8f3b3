"""``python -m gridkit``: the same as the ``gridkit`` command."""

import sys

from gridkit.cli import main

if __name__ == "__main__":  # dask's worker processes import this module too
    sys.exit(main())
