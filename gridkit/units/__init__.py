"""gridkit.units.build."""
