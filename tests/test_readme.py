"""The README's tour runs as written, top to bottom, on the sample."""

import re
import warnings
from pathlib import Path

import pandas as pd

README = Path(__file__).resolve().parents[1] / "README.md"


def _tour_code() -> str:
    text = README.read_text(encoding="utf-8")
    tour = text[text.index("## Tour"):]
    return "\n".join(re.findall(r"```python\n(.*?)```", tour, flags=re.S))


def test_readme_tour_runs(tmp_path, monkeypatch):
    code = _tour_code()
    assert "gk.build_units" in code and "gk.partition" in code
    monkeypatch.chdir(tmp_path)
    # the tour reads a staff table the reader has; write one for the grids it made
    code = code.replace(
        'staff = gk.read_table("staff.csv")',
        'pd.DataFrame({"name": "A", "phone": "1", "grid_id": grids["grid_id"]})'
        '.to_csv("staff.csv", index=False)\nstaff = gk.read_table("staff.csv")',
    )
    scope = {"pd": pd}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, str(README), "exec"), scope)
    result, report = scope["result"], scope["report"]
    assert len(result.grids) == 20
    # units split to under a quarter of the target: balanced within 2% of each village's target
    assert result.report.max_deviation <= 0.02
    assert report.summary["gap"] == report.summary["overlap"] == 0
    assert (tmp_path / "map.html").exists() and (tmp_path / "grids.xlsx").exists()
    assert len(scope["res"].routes) == 20
