"""The partition engine on arrays: weights, a CSR adjacency graph, labels.

``inputs`` (weights and options), ``graph`` (CSR graph, contiguity repair),
``alloc`` (grids per village), ``coarsen``, ``split`` (recursive bisection),
``metis`` (METIS starts for many grids),
``refine`` (boundary moves), ``recom`` (recombination), ``kway`` (tabu
search over boundary moves), ``exact`` (integer programmes with HiGHS).
Imports no shapely, geopandas or pyproj: checked by the import contracts.
"""
