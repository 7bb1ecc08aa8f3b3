"""`gridkit route` (issue #6; not available yet)."""

from gridkit.commands._common import not_available


def register(subparsers) -> None:
    p = subparsers.add_parser("route", help="(not available yet: issue #6)")
    p.set_defaults(func=not_available("route", 6))
