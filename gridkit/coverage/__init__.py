"""gridkit.coverage.validate."""
