"""gridkit.routing."""
