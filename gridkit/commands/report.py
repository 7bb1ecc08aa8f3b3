"""`gridkit report` (issue #7; not available yet)."""

from gridkit.commands._common import not_available


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="(not available yet: issue #7)")
    p.set_defaults(func=not_available("report", 7))
