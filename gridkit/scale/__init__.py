"""Scale: the same work on a dask cluster, for provinces and millions of features.

:mod:`~gridkit.scale.coverage` (validate and assign on dask),
:mod:`~gridkit.scale.pipeline` (units and grids per town or village),
:mod:`~gridkit.scale.parquet` (features as sorted GeoParquet shards). Uses the
other subpackages only through their public functions.
"""
