"""`gridkit validate` (issue #5; not available yet)."""

from gridkit.commands._common import not_available


def register(subparsers) -> None:
    p = subparsers.add_parser("validate", help="(not available yet: issue #5)")
    p.set_defaults(func=not_available("validate", 5))
