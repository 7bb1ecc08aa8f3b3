"""GCJ-02 shift: gridkit (vectorised numpy) against the PyPI peers eviltransform and prcoords.

    python benchmarks/bench_publish.py [--points 100000] [--repeat 3]

Measures, on the same random points in China (seed 7), the throughput of the
forward shift (WGS84 -> GCJ-02) and of the inverse (GCJ-02 -> WGS84), and the
accuracy of each inverse: the distance between the original WGS84 point and
the inverse of its forward shift (geodesic metres, pyproj), max and 99th
percentile. The peers are per-point pure-Python functions; their forward
formula is the same, so their forward results agree with gridkit's to within
floating-point noise (also reported). Needs `pip install eviltransform prcoords`
(the `bench` extra).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from pyproj import Geod

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's gridkit
from gridkit.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02  # noqa: E402

GEOD = Geod(ellps="WGS84")


def timed(func, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - t)
    return best, result


def errors_m(lon, lat, lon2, lat2) -> tuple[float, float]:
    d = np.asarray(GEOD.inv(lon, lat, lon2, lat2)[2])
    return float(d.max()), float(np.percentile(d, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    lon = rng.uniform(74, 134.5, args.points)
    lat = rng.uniform(18.5, 53, args.points)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)

    rows = []
    t_fwd, (f_lon, f_lat) = timed(lambda: wgs84_to_gcj02(lon, lat), args.repeat)
    t_inv, (i_lon, i_lat) = timed(lambda: gcj02_to_wgs84(g_lon, g_lat), args.repeat)
    rows.append(
        ("gridkit (numpy, iterated inverse)", t_fwd, t_inv, 0.0, *errors_m(lon, lat, i_lon, i_lat))
    )

    try:
        import eviltransform as et
    except ImportError:
        et = None
    if et is not None:

        def fwd():
            return np.array([et.wgs2gcj(a, o) for o, a in zip(lon, lat, strict=True)])

        def inv(func):
            return np.array([func(a, o) for o, a in zip(g_lon, g_lat, strict=True)])

        t_f, res = timed(fwd, 1)
        agree = errors_m(res[:, 1], res[:, 0], g_lon, g_lat)[0]
        t_i, back = timed(lambda: inv(et.gcj2wgs), 1)
        rows.append(
            (
                "eviltransform gcj2wgs (one step)",
                t_f,
                t_i,
                agree,
                *errors_m(lon, lat, back[:, 1], back[:, 0]),
            )
        )
        t_i, back = timed(lambda: inv(et.gcj2wgs_exact), 1)
        rows.append(
            (
                "eviltransform gcj2wgs_exact (bisection)",
                t_f,
                t_i,
                agree,
                *errors_m(lon, lat, back[:, 1], back[:, 0]),
            )
        )
    try:
        import prcoords as pr
    except ImportError:
        pr = None
    if pr is not None:

        def pfwd():
            return np.array(
                [tuple(pr.wgs_gcj((a, o), False)) for o, a in zip(lon, lat, strict=True)]
            )

        t_f, res = timed(pfwd, 1)
        agree = errors_m(res[:, 1], res[:, 0], g_lon, g_lat)[0]
        t_i, back = timed(
            lambda: np.array(
                [tuple(pr.gcj_wgs_bored((a, o), False)) for o, a in zip(g_lon, g_lat, strict=True)]
            ),
            1,
        )
        rows.append(
            (
                "prcoords gcj_wgs_bored (iterated)",
                t_f,
                t_i,
                agree,
                *errors_m(lon, lat, back[:, 1], back[:, 0]),
            )
        )

    n = args.points
    print(
        f"{n:,} random points in China; times are the best of {args.repeat} for gridkit, "
        "one run for the per-point peers"
    )
    header = (
        "library",
        "forward pts/s",
        "inverse pts/s",
        "forward vs gridkit (m)",
        "inverse err max (m)",
        "inverse err p99 (m)",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, tf, ti, agree, emax, e99 in rows:
        print(f"| {name} | {n / tf:,.0f} | {n / ti:,.0f} | {agree:.1e} | {emax:.1e} | {e99:.1e} |")


if __name__ == "__main__":
    main()
