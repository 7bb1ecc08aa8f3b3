"""gridkit's command-line interface (installed as the ``gridkit`` console script).

Exit codes: 0 success, 1 the data failed a check, 2 usage or input error
(an unreadable or missing input, a bad option, a full disk or a folder that
cannot be written), 130 interrupted. Errors print one line; ``--debug`` shows
the traceback. Every command writes all its outputs or none of them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings

#: Top-level packages whose RuntimeErrors are about the input (GDAL, PROJ, Arrow).
INPUT_ERROR_PACKAGES = ("pyogrio", "pyproj", "pyarrow")


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


def exit_code(exc: BaseException) -> int | None:
    """The exit code for an error a command raised; ``None`` for a bug (shown in full).

    1 for :class:`~gridkit.errors.CheckFailed`; 2 for every usage or input
    error: gridkit's errors (``ValueError``), ``KeyError``, ``TypeError``,
    ``OSError`` (missing file, full disk, permission denied) and the
    ``RuntimeError`` of GDAL, PROJ or Arrow about a file or a CRS.
    """
    from gridkit.errors import CheckFailed

    if isinstance(exc, CheckFailed):
        return 1
    if isinstance(exc, (ValueError, KeyError, TypeError, OSError)):
        return 2
    if isinstance(exc, RuntimeError) and \
            type(exc).__module__.split(".")[0] in INPUT_ERROR_PACKAGES:
        return 2
    return None


def error_line(exc: BaseException) -> str:
    """The error's message on one line, numbers written plainly."""
    from gridkit.cli.commands._common import plain

    if type(exc) is KeyError and exc.args:  # KeyError's str() is the repr of its key
        text = str(exc.args[0])
    else:
        text = str(exc)
    return plain(" ".join(text.split())) or type(exc).__name__


class _StderrHandler(logging.StreamHandler):
    """Log lines to the current ``sys.stderr``, numpy reprs written as plain numbers."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler sets it; the current stderr is used
        pass

    def format(self, record: logging.LogRecord) -> str:
        from gridkit.cli.commands._common import plain

        return plain(super().format(record))


class _Formatter(logging.Formatter):
    """gridkit's progress as ``  12.3s message``; warnings and errors as ``warning: ...``."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {message}"
        return f"{record.relativeCreated / 1000:7.1f}s {message}"


def _setup_logging(level: int) -> None:
    """gridkit's own loggers at ``level``; every other library's at WARNING."""
    root = logging.getLogger()
    own = logging.getLogger("gridkit")
    for logger in (root, own):
        for handler in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
            logger.removeHandler(handler)  # from an earlier main() in this process
    handler = _StderrHandler()
    handler.setFormatter(_Formatter())
    root.addHandler(handler)
    root.setLevel(logging.WARNING)  # fontTools, pyogrio, matplotlib, numba ...
    own.setLevel(level)


class _Warnings:
    """The run's warnings, shown at its end: once each, counted, without source lines.

    Python's own display repeats a warning per call site with the source line
    under it, and ``logging.captureWarnings`` adds the file path: neither reads
    well on a command line.
    """

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def show(self, message, category, filename, lineno, file=None, line=None) -> None:
        text = " ".join(str(message).split())
        ours = category.__module__.split(".")[0] == "gridkit"
        if not ours:  # another library's: named, and counted
            text = f"{category.__name__}: {text}"
        self.seen.setdefault(text, [0, ours])[0] += 1

    def flush(self) -> None:
        from gridkit.cli.commands._common import plain

        # gridkit's warnings carry their own counts ("8 grids without staff: ..."); the
        # same one again (a per-grid map after the overview) adds nothing
        for text, (count, ours) in self.seen.items():
            times = f" ({count} times)" if count > 1 and not ours else ""
            print(f"warning: {plain(text)}{times}", file=sys.stderr)
        self.seen.clear()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(logging.DEBUG if args.debug else logging.INFO if args.verbose
                   else logging.WARNING)
    if not args.debug:
        # dask.distributed logs every cluster start and stop at INFO (read by dask's
        # config when distributed is first imported, here and in the workers)
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    shown = _Warnings()
    with warnings.catch_warnings():  # filters set for this run only (main may run in-process)
        if args.quiet:
            warnings.simplefilter("ignore")
        else:
            from gridkit.errors import GridkitWarning

            warnings.simplefilter("default")
            if not args.debug:  # about library internals, not about the user's data
                for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
                    warnings.simplefilter("ignore", category)
            warnings.simplefilter("always", GridkitWarning)  # counted, shown once
            warnings.showwarning = shown.show
        code = _run(args)
    if code in (0, 1):  # an input error is one line: what went before it does not matter
        shown.flush()
    return code


def _run(args: argparse.Namespace) -> int:
    """Run the command; every error becomes one line on stderr and an exit code."""
    from gridkit.cli.commands._common import check_options

    try:
        check_options(args)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"gridkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        code = exit_code(exc)
        if code is None or args.debug:
            raise
        kind = "" if code == 1 else "error: "
        print(f"gridkit {args.command}: {kind}{error_line(exc)}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
