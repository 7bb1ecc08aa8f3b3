"""`gridkit demo`: the whole pipeline on data/sample.gpkg with the defaults."""

from __future__ import annotations

import importlib
import logging
import time
import warnings
from pathlib import Path

from gridkit.cli.commands import ORDER
from gridkit.cli.commands._common import frame_text
from gridkit.cli.commands._demo import DemoContext
from gridkit.errors import GridkitWarning

log = logging.getLogger("gridkit.cli")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run the whole pipeline on the bundled sample (central Helsinki, OSM)",
        description="Run every available step on data/sample.gpkg with the defaults and write "
        "the outputs (units, grids, validation report, routes, map, tables) into a folder.",
    )
    p.add_argument("-o", "--output", default="gridkit-demo",
                   help="output folder (default: %(default)s)")
    p.set_defaults(func=run)


def run_demo(outdir: str | Path) -> DemoContext:
    """Run the demo pipeline and return its context (layers, results, summary)."""
    from gridkit.io.sample import SAMPLE_LAYERS, sample_path
    from gridkit.layers import load_layers

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    path = sample_path()
    layers = load_layers(**{name: f"{path}:{name}" for name in SAMPLE_LAYERS})
    ctx = DemoContext(layers=layers, outdir=outdir)
    ctx.add(f"sample: {path} (working CRS {layers.crs.name}, EPSG:{layers.crs.to_epsg()})")
    ctx.add(frame_text(layers.summary().round(1)))
    steps = [(name, getattr(importlib.import_module(f"gridkit.cli.commands.{name}"),
                            "demo_step", None)) for name in ORDER]
    steps = [(name, step) for name, step in steps if step is not None]
    for i, (name, step) in enumerate(steps, 1):
        log.info("== demo step %d/%d: %s ==", i, len(steps), name)
        started = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GridkitWarning)
            step(ctx)
        # the steps' own notes (e.g. partition balance) are counted in their
        # summary lines; shown in full with -v, once each
        for message in dict.fromkeys(str(w.message) for w in caught
                                     if issubclass(w.category, GridkitWarning)):
            log.info("%s: note: %s", name, message)
        for w in caught:
            if not issubclass(w.category, GridkitWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        log.info("   %s done in %.1f s", name, time.perf_counter() - started)
    return ctx


def run(args) -> int:
    ctx = run_demo(args.output)
    print("\n".join(ctx.summary))
    if ctx.files:
        print("\nfiles written:")
        for f in ctx.files:
            print(f"  {f}")
    return 0
