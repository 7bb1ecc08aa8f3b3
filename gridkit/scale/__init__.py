"""gridkit.scale."""
