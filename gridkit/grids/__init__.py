"""gridkit.grids."""
