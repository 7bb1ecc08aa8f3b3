"""`gridkit shard`: features as spatially sorted GeoParquet files for dask (issue #9)."""

from __future__ import annotations

from gridkit.cli.commands._common import add_source_options, refuse_folder_over_input


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "shard",
        help="write features as a directory of spatially sorted GeoParquet files (for dask)",
        description="Write entities or buildings as a directory of GeoParquet files in "
        "Hilbert-curve order, each covering a compact area, for `gridkit validate "
        "--distributed` and `gridkit assign`, whose workers read the files themselves. A "
        "GeoParquet input is sorted on dask (dask-geopandas spatial_shuffle) and never loaded "
        "into this process.",
    )
    p.add_argument("features", metavar="FEATURES", help="PATH or PATH:LAYER, or GeoParquet")
    p.add_argument("-o", "--output", required=True, help="the directory to write")
    p.add_argument("--rows", type=int, default=500_000,
                   help="rows per file for an input read into memory (default %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing directory")
    p.add_argument("--distributed", action="store_true",
                   help="sort GeoParquet input on a local dask cluster (default: threads)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="dask scheduler of an existing cluster (e.g. tcp://host:8786)")
    add_source_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from gridkit.scale.parquet import write_spatial_parquet

    refuse_folder_over_input(args.output, [args.features])
    scheduler = args.scheduler or (None if args.distributed else "threads")
    out = write_spatial_parquet(args.features, args.output, rows_per_file=args.rows,
                                overwrite=args.overwrite, scheduler=scheduler)
    print(f"spatially sorted GeoParquet written to {out}/")
    return 0
