"""Shim: the command-line interface lives in :mod:`gridkit.cli`."""

import sys

from gridkit.cli import main

if __name__ == "__main__":
    sys.exit(main())
