"""Compose benchmarks/RESULTS.md from the per-area result files in benchmarks/results/.

    python benchmarks/collect_results.py

Each area's benchmark script writes its measured table, machine, date and
command into results/<area>.md; this script only concatenates them, in a
fixed order, so that RESULTS.md is the one page to read.
"""

from pathlib import Path

HERE = Path(__file__).parent
ORDER = ["units", "partition", "proofs", "polish", "coverage", "trust", "routing", "edit", "reach",
         "publish", "scale", "province", "synthetic", "startup", "noding"]


def main() -> None:
    parts = ["# Benchmark results\n",
             "Measured on this project's 2-core / 24 GB machines, peers in the same run. "
             "Each section names its machine, date and command. Regenerate a section by "
             "running its script; rebuild this page with `python benchmarks/collect_results.py`.\n"]
    files = [HERE / "results" / f"{area}.md" for area in ORDER]
    files = [f for f in files if f.exists()]
    for f in files:
        parts.append(f.read_text().strip() + "\n")
    raw = sorted(p.name for p in (HERE / "results").iterdir() if p.stem not in ORDER)
    if raw:
        parts.append("## Raw runs\n\nSingle runs merged into the sections above, kept for their "
                     "commands and load: " + ", ".join(f"`results/{name}`" for name in raw) + ".\n")
    (HERE / "RESULTS.md").write_text("\n".join(parts))
    print(f"RESULTS.md from {len(files)} section(s)")


if __name__ == "__main__":
    main()
