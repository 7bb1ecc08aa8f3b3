"""gridkit's command-line interface (installed as the ``gridkit`` console script).

Exit codes: 0 success, 1 the data failed a check, 2 usage or input error.
Errors print one line; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings


def build_parser() -> argparse.ArgumentParser:
    from gridkit import __version__
    from gridkit.cli.commands import ORDER

    parser = argparse.ArgumentParser(
        prog="gridkit",
        description="Grid-based management (网格化管理): build balanced grids from roads, villages "
        "and buildings, validate coverage, plan patrols, publish maps and tables.",
    )
    parser.add_argument("--version", action="version", version=f"gridkit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO)")
    parser.add_argument("-q", "--quiet", action="store_true", help="hide warnings")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in ORDER:
        importlib.import_module(f"gridkit.cli.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from gridkit.errors import CheckFailed

    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not args.debug:
        # dask.distributed logs every cluster start and stop at INFO (read by dask's
        # config when distributed is first imported, here and in the workers)
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
    if args.quiet:
        warnings.simplefilter("ignore")
    else:
        warnings.filterwarnings("default", module="gridkit")
        logging.captureWarnings(True)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CheckFailed as exc:
        if args.debug:
            raise
        print(f"gridkit {args.command}: {exc}", file=sys.stderr)
        return 1
    except (ValueError, OSError, KeyError, TypeError) as exc:
        if args.debug:
            raise
        print(f"gridkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
