"""Start-up cost: `gridkit --help` and `import gridkit` against `import geopandas`.

    python benchmarks/bench_startup.py [--repeat 15]

Each command runs as a fresh process (as a user's shell starts it), in
alternation, ``--repeat`` times; the table gives wall-clock min/median/max
and the peak resident memory of the process. The ratio column is each
command's median over the median of ``python -c "import geopandas"`` measured
in the same run. Writes benchmarks/results/startup.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
GRIDKIT = shutil.which("gridkit", path=str(Path(sys.executable).parent)) or "gridkit"
COMMANDS = {
    "python -c 'import geopandas'": [sys.executable, "-c", "import geopandas"],
    "gridkit --help": [GRIDKIT, "--help"],
    "gridkit partition --help": [GRIDKIT, "partition", "--help"],
    "python -c 'import gridkit'": [sys.executable, "-c", "import gridkit"],
    "python -c 'import gridkit; gridkit.partition'": [
        sys.executable, "-c", "import gridkit; gridkit.partition"],
}


def _run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed")
    return wall, usage.ru_maxrss / 1024


def measure(repeat: int) -> dict[str, dict[str, float]]:
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for cmd in COMMANDS.values():  # warm the file cache once
        _run(cmd)
    for _ in range(repeat):
        for name, cmd in COMMANDS.items():
            runs[name].append(_run(cmd))
    base = statistics.median(w for w, _ in runs["python -c 'import geopandas'"])
    table = {}
    for name, rs in runs.items():
        walls = [w for w, _ in rs]
        table[name] = {"min_s": min(walls), "median_s": statistics.median(walls),
                       "max_s": max(walls), "peak_rss_mb": max(m for _, m in rs),
                       "median / import geopandas": statistics.median(walls) / base}
    return table


def render(table, repeat: int) -> str:
    cols = ["min_s", "median_s", "max_s", "peak_rss_mb", "median / import geopandas"]
    lines = ["| command | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for name, row in table.items():
        cells = [f"{row[c]:.3f}" if c.endswith("_s") or "/" in c else f"{row[c]:.0f}"
                 for c in cols]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join([
        "## Start-up: `gridkit --help` against `import geopandas` (issue #14)", "",
        f"Date: {now}. Command: `python benchmarks/bench_startup.py --repeat {repeat}`.", "",
        f"Machine: {platform.platform()}, {os.cpu_count()} cpus; load average during the run: "
        f"{load}. Every command is a fresh process, run in alternation, {repeat} times "
        "after one warm-up each.", "",
        *lines, "",
        "`gridkit --help` and every `gridkit COMMAND --help` import no geo stack (the "
        "commands import it inside the functions that run; `import gridkit` loads each "
        "public name on first use), so the help costs about what the Python interpreter "
        "costs to start. The first use of a function (`gridkit.partition`) then pays for "
        "the libraries it needs.", ""])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    table = measure(args.repeat)
    text = render(table, args.repeat)
    print(text)
    (HERE / "results" / "startup.md").write_text(text)


if __name__ == "__main__":
    main()
