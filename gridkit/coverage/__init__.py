"""Coverage: prove that grids tile the jurisdiction, repair them, review changes.

:mod:`~gridkit.coverage.validate` (``validate_coverage``) runs the checks of
:mod:`~gridkit.coverage.checks` over the geometry helpers of
:mod:`~gridkit.coverage.geom`; :mod:`~gridkit.coverage.repair`,
:mod:`~gridkit.coverage.diff` and :mod:`~gridkit.coverage.requirements` build on
them. Never imports :mod:`gridkit.publish`.
"""
