"""gridkit.synthetic.county."""
