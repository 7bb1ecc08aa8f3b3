"""gridkit.reach.reach."""
