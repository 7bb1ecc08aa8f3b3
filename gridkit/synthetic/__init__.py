"""Synthetic data for tests and benchmarks, deterministic from a seed.

:mod:`~gridkit.synthetic.county` (``synthetic_county``),
:mod:`~gridkit.synthetic.province` (``synthetic_province``) and
:mod:`~gridkit.synthetic.faults` (coverages with known, planted faults).
"""
