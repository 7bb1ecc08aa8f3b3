"""Routing over the road network: graph, patrol tours, visit routes, schedules.

:mod:`~gridkit.routing.roadgraph` builds the graph from a road layer;
:mod:`~gridkit.routing.network` is the one network core (edge table, snapper,
shortest paths) that ``postman``, ``visits``, ``schedule`` and
:mod:`gridkit.reach` work on; ``postman`` solves the street tours (the rural
postman's integer programme in ``_rural_ip``, walking connectors in
``_connectors``), ``persons`` shares a tour among several people;
``checkpoints`` finds road crossings of village boundaries.
"""
