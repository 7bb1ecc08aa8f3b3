"""gridkit.publish."""
