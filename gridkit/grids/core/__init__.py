"""gridkit.grids.core."""
