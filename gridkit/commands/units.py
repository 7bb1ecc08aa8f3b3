"""`gridkit units` (issue #3; not available yet)."""

from gridkit.commands._common import not_available


def register(subparsers) -> None:
    p = subparsers.add_parser("units", help="(not available yet: issue #3)")
    p.set_defaults(func=not_available("units", 3))
