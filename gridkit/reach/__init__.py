"""Reach: what a station covers over the road network, and where to put new ones.

:mod:`~gridkit.reach.reach` (``network_reach``) and
:mod:`~gridkit.reach.siting` (``site_facilities``), on the road graph of
:mod:`gridkit.routing`.
"""
