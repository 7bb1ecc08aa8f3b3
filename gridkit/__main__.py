"""``python -m gridkit``: the same as the ``gridkit`` command."""

import sys

from cli import main

sys.exit(main())
