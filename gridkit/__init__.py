"""gridkit: grid-based management (网格化管理) for Python.

Divide a jurisdiction into management grids from road, village and building
layers, balance the work per grid, prove full coverage with no gaps or
overlaps, plan patrol routes and publish maps and tables.

GeoDataFrame in, GeoDataFrame out; inputs are never modified; every
geometric operation runs in a metric CRS (see :mod:`gridkit.crs`).

Every public function and result type is importable from here
(``gk.partition``, ``gk.validate_coverage`` ...); the subpackages hold the
code, one concern each (see ARCHITECTURE.md). Names are loaded on first use,
so ``import gridkit`` (and ``gridkit --help``) does not pay for the whole
geo stack.

>>> import gridkit as gk
>>> gk.utm_zone(24.94, 60.17).to_epsg()
32635
"""

from __future__ import annotations

import importlib
import warnings

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    # gridkit.errors
    "GridkitError": "gridkit.errors",
    "LayerError": "gridkit.errors",
    "MissingCRSError": "gridkit.errors",
    "CRSError": "gridkit.errors",
    "GeometryTypeError": "gridkit.errors",
    "EmptyLayerError": "gridkit.errors",
    "MissingColumnError": "gridkit.errors",
    "DuplicateIdError": "gridkit.errors",
    "NullGeometryError": "gridkit.errors",
    "InvalidGeometryError": "gridkit.errors",
    "InvalidValueError": "gridkit.errors",
    "LayerNotFoundError": "gridkit.errors",
    "CheckFailed": "gridkit.errors",
    "GridkitWarning": "gridkit.errors",
    "ExternalResourceError": "gridkit.errors",
    "PartitionError": "gridkit.errors",
    "RoutingError": "gridkit.errors",
    "DuplicateCodeError": "gridkit.errors",
    "CodeOverflowError": "gridkit.errors",
    "VillageCodeError": "gridkit.errors",
    "RoadGraphUnavailable": "gridkit.errors",
    "RequirementsError": "gridkit.errors",
    "SyntheticSizeError": "gridkit.errors",
    "UnitsError": "gridkit.errors",
    "PolicyError": "gridkit.errors",
    # gridkit.crs
    "working_crs": "gridkit.crs",
    "is_metric": "gridkit.crs",
    "cgcs2000_zone": "gridkit.crs",
    "utm_zone": "gridkit.crs",
    "in_china": "gridkit.crs",
    "to_crs": "gridkit.crs",
    "lonlat_center": "gridkit.crs",
    # gridkit.gcj02
    "wgs84_to_gcj02": "gridkit.gcj02",
    "gcj02_to_wgs84": "gridkit.gcj02",
    "out_of_china": "gridkit.gcj02",
    "to_gcj02": "gridkit.gcj02",
    "from_gcj02": "gridkit.gcj02",
    "bd09_to_wgs84": "gridkit.gcj02",
    "lonlat_to_wgs84": "gridkit.gcj02",
    "osm_layers": "gridkit.osm.extract",
    # gridkit.layers
    "check_layer": "gridkit.layers",
    "check_staff": "gridkit.layers",
    "load_layers": "gridkit.layers",
    "Layers": "gridkit.layers",
    # gridkit.workload
    "Policy": "gridkit.workload",
    "Regime": "gridkit.workload",
    "load_policy": "gridkit.workload",
    "classify_entities": "gridkit.workload",
    "patrol_minutes": "gridkit.workload",
    # gridkit.io.files
    "parse_source": "gridkit.io.files",
    "read_layer": "gridkit.io.files",
    "read_table": "gridkit.io.files",
    "list_layers": "gridkit.io.files",
    "write_layers": "gridkit.io.files",
    "write_layer": "gridkit.io.files",
    # gridkit.io.sample
    "sample_path": "gridkit.io.sample",
    "load_sample": "gridkit.io.sample",
    # gridkit.io.gpx
    "write_gpx": "gridkit.io.gpx",
    # gridkit.units.build
    "UnitsResult": "gridkit.units.build",
    "build_units": "gridkit.units.build",
    "unit_adjacency": "gridkit.units.build",
    "villages_around_buildings": "gridkit.units.whole",
    # gridkit.units.adjacency
    "adjacency_lists": "gridkit.units.adjacency",
    # gridkit.grids.partition
    "partition": "gridkit.grids.partition",
    "Partition": "gridkit.grids.partition",
    "PartitionReport": "gridkit.grids.partition",
    "polsby_popper": "gridkit.grids.partition",
    "inertia_index": "gridkit.grids.partition",
    # gridkit.editor.session
    "edit": "gridkit.editor.session",
    "Editor": "gridkit.editor.session",
    # gridkit.coverage.validate
    "validate_coverage": "gridkit.coverage.validate",
    "CoverageReport": "gridkit.coverage.validate",
    # gridkit.coverage.repair
    "repair_coverage": "gridkit.coverage.repair",
    "RepairResult": "gridkit.coverage.repair",
    # gridkit.coverage.diff
    "diff_grids": "gridkit.coverage.diff",
    "GridDiff": "gridkit.coverage.diff",
    # gridkit.coverage.requirements
    "Requirement": "gridkit.coverage.requirements",
    "RequirementsReport": "gridkit.coverage.requirements",
    "load_requirements": "gridkit.coverage.requirements",
    "check_requirements": "gridkit.coverage.requirements",
    # gridkit.routing.roadgraph
    "road_graph": "gridkit.routing.roadgraph",
    "RoadGraphReport": "gridkit.routing.roadgraph",
    "graph_edges": "gridkit.routing.roadgraph",
    # gridkit.routing.postman
    "postman_tour": "gridkit.routing.postman",
    "patrol_routes": "gridkit.routing.postman",
    "PostmanTour": "gridkit.routing.postman",
    "PatrolRoutes": "gridkit.routing.postman",
    # gridkit.routing.visits
    "visit_route": "gridkit.routing.visits",
    "VisitRoute": "gridkit.routing.visits",
    # gridkit.routing.schedule
    "monthly_schedule": "gridkit.routing.schedule",
    "Schedule": "gridkit.routing.schedule",
    "working_days": "gridkit.routing.schedule",
    "visits_due": "gridkit.routing.schedule",
    # gridkit.routing.checkpoints
    "find_checkpoints": "gridkit.routing.checkpoints",
    "Checkpoints": "gridkit.routing.checkpoints",
    # gridkit.reach.reach
    "network_reach": "gridkit.reach.reach",
    "ReachResult": "gridkit.reach.reach",
    "reach_graph": "gridkit.reach.reach",
    "share_by_area": "gridkit.reach.reach",
    # gridkit.reach.siting
    "site_facilities": "gridkit.reach.siting",
    "SitingResult": "gridkit.reach.siting",
    # gridkit.publish.webmap
    "base_map": "gridkit.publish.webmap",
    "grid_map": "gridkit.publish.webmap",
    "save_map": "gridkit.publish.webmap",
    "reach_map": "gridkit.publish.reach_maps",
    "checkpoints_map": "gridkit.publish.reach_maps",
    "write_grid_maps": "gridkit.publish.webmap",
    # gridkit.publish.posters
    "PosterSet": "gridkit.publish.posters",
    "prepare_posters": "gridkit.publish.posters",
    "grid_poster": "gridkit.publish.posters",
    "jurisdiction_poster": "gridkit.publish.posters",
    "write_posters": "gridkit.publish.posters",
    # gridkit.publish.tables
    "grid_keys": "gridkit.publish.tables",
    "grid_stats": "gridkit.publish.tables",
    "staff_by_grid": "gridkit.publish.tables",
    "responsibility_table": "gridkit.publish.tables",
    "write_table": "gridkit.publish.tables",
    # gridkit.publish.codes
    "CodeScheme": "gridkit.publish.codes",
    "assign_codes": "gridkit.publish.codes",
    "parse_code": "gridkit.publish.codes",
    # gridkit.scale.coverage
    "validate_coverage_distributed": "gridkit.scale.coverage",
    "assign_to_grids_distributed": "gridkit.scale.coverage",
    # gridkit.scale.pipeline
    "build_units_distributed": "gridkit.scale.pipeline",
    "partition_distributed": "gridkit.scale.pipeline",
    # gridkit.scale.parquet
    "write_spatial_parquet": "gridkit.scale.parquet",
    # gridkit.synthetic.county
    "synthetic_county": "gridkit.synthetic.county",
    "synthetic_province": "gridkit.synthetic.province",
}

# module constants once re-exported here: still served, with a warning that
# names their home (they belong to their modules, not to the package face)
_MOVED_CONSTANTS = {
    "LAYER_KINDS": "gridkit.layers",
    "REGIMES": "gridkit.workload",
    "DEFAULT_POLICY_PATH": "gridkit.workload",
    "SAMPLE_LAYERS": "gridkit.io.sample",
    "AREA_TOLERANCE": "gridkit.units.build",
    "UNIT_COLUMNS": "gridkit.units.build",
    "NO_VILLAGE_CODE": "gridkit.units.build",
    "KINDS": "gridkit.coverage.validate",
    "DEFAULT_TOLERANCE": "gridkit.coverage.validate",
    "RESOLUTION": "gridkit.coverage.validate",
    "ISSUE_COLUMNS": "gridkit.coverage.validate",
    "MIN_CHANGE_M2": "gridkit.coverage.diff",
    "REQUIREMENT_ISSUE": "gridkit.coverage.requirements",
    "WALK_SPEED_KMH": "gridkit.routing.roadgraph",
    "DRIVE_SPEEDS_KMH": "gridkit.routing.roadgraph",
    "NOT_DRIVABLE": "gridkit.routing.roadgraph",
    "ROAD_RANK": "gridkit.routing.checkpoints",
    "REACH_STATUSES": "gridkit.reach.reach",
    "SITING_STATUSES": "gridkit.reach.siting",
    "TILES": "gridkit.publish.webmap",
    "RISK_COLOURS": "gridkit.publish.webmap",
    "PAPER_SIZES": "gridkit.publish.posters",
    "STAT_COLUMNS": "gridkit.publish.tables",
    "TABLE_HEADERS": "gridkit.publish.tables",
    "SCHEMES": "gridkit.publish.codes",
    "GRIDS_PER_TILE": "gridkit.scale.coverage",
    "GROUP_LEVELS": "gridkit.scale.pipeline",
    "SYNTHETIC_CRS": "gridkit.synthetic.county",
}

_SUBPACKAGES = ("cli", "coverage", "grids", "io", "publish", "reach", "routing", "scale",
                "synthetic", "units")

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _MOVED_CONSTANTS:
        home = _MOVED_CONSTANTS[name]
        warnings.warn(f"gridkit.{name} is deprecated: import it from {home}",
                      DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(home), name)
    elif name in _SUBPACKAGES or name in ("crs", "errors", "gcj02", "layers", "workload"):
        value = importlib.import_module(f"gridkit.{name}")
    else:
        raise AttributeError(f"module 'gridkit' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(_SUBPACKAGES))
