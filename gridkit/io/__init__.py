"""Reading and writing files: layers, tables, GPX tracks and the bundled sample.

:mod:`~gridkit.io.files` (any format pyogrio reads, GeoParquet, CSV/XLSX; atomic
writes), :mod:`~gridkit.io.gpx`, :mod:`~gridkit.io.sample`.
"""
