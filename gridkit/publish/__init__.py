"""Publishing: web maps, posters, responsibility tables and grid codes.

:mod:`~gridkit.publish.webmap`, :mod:`~gridkit.publish.posters`,
:mod:`~gridkit.publish.tables`, :mod:`~gridkit.publish.codes`, the reach maps of
:mod:`~gridkit.publish.reach_maps`; the choices users pick between (tiles, paper,
code schemes) are plain data in :mod:`~gridkit.publish.options`. Drawing helpers
(``_assets``, ``_colour``, ``_elements``, ``_poster_*``) stay inside.
"""
