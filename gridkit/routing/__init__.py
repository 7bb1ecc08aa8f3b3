"""Routing over the road network: graph, patrol tours, visit routes, schedules.

:mod:`~gridkit.routing.roadgraph` builds the graph from a road layer; the other
modules (``postman``, ``visits``, ``schedule``, ``checkpoints``) and
:mod:`gridkit.reach` work on it.
"""
