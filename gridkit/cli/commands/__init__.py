"""The CLI subcommands, one module each.

Each module defines ``register(subparsers)`` (adds its parser and sets
``func``) and may define ``demo_step(ctx)``, called in :data:`ORDER` by
``gridkit demo`` with a :class:`gridkit.cli.commands._demo.DemoContext`.
"""

ORDER = (
    "info",
    "osm",
    "units",
    "partition",
    "edit",
    "validate",
    "shard",
    "assign",
    "repair",
    "diff",
    "route",
    "schedule",
    "reach",
    "checkpoints",
    "map",
    "report",
    "demo",
)
