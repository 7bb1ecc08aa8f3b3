"""Grids: units grouped into balanced, contiguous grids nested in villages.

:mod:`~gridkit.grids.partition` (``partition``) is the geometric face: it reads
the units, calls the array core and dissolves the grids;
:mod:`~gridkit.grids.shape` measures them. :mod:`gridkit.grids.core` is the
partition engine on plain arrays (no shapely, geopandas or pyproj).
"""
