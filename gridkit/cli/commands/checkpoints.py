"""`gridkit checkpoints`: every road crossing of a village or jurisdiction boundary."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from gridkit.cli.commands._common import (
    add_crs_option,
    add_output_option,
    back_to_input_crs,
    frame_text,
    layer_sources,
    plain,
    refuse_output_over_input,
)

if TYPE_CHECKING:  # annotations only: the geo stack loads when a command runs
    import pandas as pd

log = logging.getLogger("gridkit.cli")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "checkpoints",
        help="checkpoints (卡点): every place a road crosses a village or jurisdiction boundary, "
        "with road class and name, counted per village",
        description="Find every crossing of a road with a village boundary or the jurisdiction "
        "boundary (a road crossing several times is reported at each crossing; roads meeting on "
        "the boundary make one checkpoint), with the road's class and name and the villages on "
        "either side, and count them per village. Sources are PATH or PATH:LAYER.",
    )
    p.add_argument(
        "--layers",
        metavar="FILE",
        help="take roads, villages and jurisdiction not given below from FILE",
    )
    p.add_argument("--roads", help="road lines (`road_class`, `name` used when present)")
    p.add_argument("--villages", help="village polygons with a unique `code`")
    p.add_argument(
        "--jurisdiction", help="outline of the territory (default: the villages' outline)"
    )
    p.add_argument(
        "--merge-distance",
        type=float,
        default=1.0,
        metavar="M",
        help="crossings closer than this are one checkpoint (default: %(default)s m)",
    )
    p.add_argument(
        "--csv",
        metavar="FILE",
        help="also write the checkpoint table as CSV (with longitude/latitude)",
    )
    p.add_argument("--map", metavar="HTML",
                   help="also write a web map of the checkpoints and the villages (offline)")
    add_crs_option(p)
    add_output_option(p, help="output file: layers checkpoints and villages (with counts)")
    p.set_defaults(func=run)



def checkpoint_table(points) -> pd.DataFrame:
    """The checkpoints as a plain table with longitude/latitude."""
    import pandas as pd

    ll = points.to_crs(4326).geometry
    table = pd.DataFrame(points.drop(columns=points.geometry.name))
    table["lon"] = ll.x.round(7).to_numpy()
    table["lat"] = ll.y.round(7).to_numpy()
    return table


def run(args) -> int:
    from gridkit.io.atomic import staged
    from gridkit.io.files import write_csv, write_layers
    from gridkit.layers import load_layers
    from gridkit.routing.checkpoints import find_checkpoints

    sources = layer_sources(args, ("roads", "villages", "jurisdiction"),
                            required=("roads", "villages"))
    refuse_output_over_input(args.output, sources.values(), writes=("checkpoints", "villages"),
                             also=[f for f in (args.csv, args.map) if f])
    layers = load_layers(crs=args.crs, strict=args.strict, **sources)
    cp = find_checkpoints(
        layers["roads"],
        layers["villages"],
        jurisdiction=layers.get("jurisdiction"),
        merge_distance=args.merge_distance,
        crs=layers.crs,
    )
    out = {
        "checkpoints": back_to_input_crs(cp.points, layers),
        "villages": back_to_input_crs(cp.per_village, layers),
    }
    with staged():  # the layers and the CSV, or neither
        path = write_layers({k: v for k, v in out.items() if len(v)}, args.output)
        if args.csv:
            write_csv(checkpoint_table(cp.points), args.csv)
        if args.map:
            from gridkit.publish.reach_maps import checkpoints_map
            from gridkit.publish.webmap import save_map

            save_map(checkpoints_map(cp), args.map)
    print(plain(str(cp.summary)))
    cols = [c for c in cp.per_village.columns if c != cp.per_village.geometry.name]
    print(frame_text(cp.per_village[cols]))
    print("\nwritten: " + ", ".join(str(f) for f in (path, args.csv, args.map) if f))
    return 0


def demo_step(ctx) -> None:
    """Checkpoints where the sample's roads cross village or jurisdiction boundaries."""
    from gridkit.io.atomic import staged
    from gridkit.io.files import write_csv, write_layers
    from gridkit.publish.reach_maps import checkpoints_map
    from gridkit.publish.webmap import save_map
    from gridkit.routing.checkpoints import find_checkpoints

    roads, villages = ctx.layers.get("roads"), ctx.layers.get("villages")
    if roads is None or villages is None:
        ctx.add("checkpoints: skipped (no roads or villages)")
        return
    cp = find_checkpoints(
        roads, villages, jurisdiction=ctx.layers.get("jurisdiction"), crs=ctx.layers.crs
    )
    ctx.results["checkpoints"] = cp
    html = Path(ctx.outdir) / "checkpoints_map.html"
    with staged():
        path = write_layers(
            {
                "checkpoints": back_to_input_crs(cp.points, ctx.layers),
                "villages": back_to_input_crs(cp.per_village, ctx.layers),
            },
            ctx.outdir / "checkpoints.gpkg",
        )
        csv = write_csv(checkpoint_table(cp.points), Path(ctx.outdir) / "checkpoints.csv")
        save_map(checkpoints_map(cp), html)
    files = [path, csv, html]
    per = ", ".join(
        f"{c}: {n}"
        for c, n in zip(cp.per_village["code"], cp.per_village["checkpoints"], strict=True)
    )
    ctx.add(f"checkpoints: {cp.summary} ({per})", *files)
