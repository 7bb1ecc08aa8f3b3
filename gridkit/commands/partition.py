"""`gridkit partition` (issue #4; not available yet)."""

from gridkit.commands._common import not_available


def register(subparsers) -> None:
    p = subparsers.add_parser("partition", help="(not available yet: issue #4)")
    p.set_defaults(func=not_available("partition", 4))
