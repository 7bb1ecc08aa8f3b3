"""gridkit.io.files."""
