"""OpenStreetMap extracts as gridkit's layers: roads, barriers, buildings, entities, jurisdiction.

:func:`~gridkit.osm.extract.osm_layers` reads a ``.osm`` or ``.osm.pbf`` file
through GDAL's OSM driver (in the pyogrio wheels; no network) and returns the
layers ``gridkit units`` and the other commands read. :mod:`~gridkit.osm.tags`
holds the documented mappings: which ``highway`` values are roads, which tags
make an entity and its risk class (DOMAIN.md's classes), how households are
estimated from footprints.
"""
