"""gridkit's command-line interface: ``gridkit COMMAND`` (see :mod:`gridkit.cli.main`).

One module per command in :mod:`gridkit.cli.commands`; commands do not import
each other, and no library module imports this package.
"""

from gridkit.cli.main import main

__all__ = ["main"]
