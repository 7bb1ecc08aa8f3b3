"""`gridkit osm`: an OpenStreetMap extract as the layers gridkit reads (issue #18)."""

from __future__ import annotations

from gridkit.cli.commands._common import (
    add_output_option,
    add_source_options,
    refuse_output_over_input,
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "osm",
        help="turn an OpenStreetMap extract (.osm, .osm.pbf) into roads, barriers, buildings, "
        "entities and a jurisdiction",
        description="Read an OpenStreetMap extract with GDAL's OSM driver (no network) and write "
        "the layers jurisdiction, roads (road_class, oneway, bridge, tunnel, layer, name), "
        "barriers (railways, rivers, canals), buildings (levels, estimated households) and "
        "entities (category, risk 1-3 by the documented tag mapping), in EPSG:4326, ready for "
        "`gridkit units --layers`.",
    )
    p.add_argument("extract", metavar="FILE", help="a .osm or .osm.pbf file")
    p.add_argument("--clip", metavar="POLYGONS",
                   help="keep only what lies inside these polygons (PATH or PATH:LAYER); they "
                   "become the jurisdiction")
    add_source_options(p)
    add_output_option(p, help="output file (GeoPackage unless the extension says otherwise)")
    p.set_defaults(func=run)


def run(args) -> int:
    from gridkit.io.atomic import staged
    from gridkit.io.files import read_layer, write_layers
    from gridkit.osm.extract import osm_layers

    refuse_output_over_input(args.output, [args.extract, args.clip], writes=None)
    clip = read_layer(args.clip) if args.clip else None
    layers = osm_layers(args.extract, clip=clip)
    with staged():
        path = write_layers(layers, args.output)
    counts = ", ".join(f"{name} {len(gdf)}" for name, gdf in layers.items())
    print(f"wrote {path}: {counts}")
    return 0


def demo_step(ctx) -> None:
    """The sample's own OpenStreetMap extract read into layers, clipped to its jurisdiction."""
    from gridkit.io.files import write_layers
    from gridkit.io.sample import sample_path
    from gridkit.osm.extract import osm_layers

    extract = sample_path().with_name("helsinki.osm.pbf")
    if not extract.exists():
        ctx.add(f"osm: skipped ({extract} is missing)")
        return
    layers = osm_layers(extract, clip=ctx.layers["jurisdiction"])
    path = write_layers(layers, ctx.outdir / "osm_layers.gpkg")
    counts = ", ".join(f"{name} {len(gdf)}" for name, gdf in layers.items())
    ctx.add(f"osm: {extract.name} read into {counts} (the layers `gridkit units --layers` "
            "takes)", path)
