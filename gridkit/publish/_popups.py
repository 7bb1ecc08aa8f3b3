"""The rows of the web maps' popups: Chinese with English, human figures only.

Each popup is a list of ``[label, value]`` pairs of text (the page shows them
with ``textContent``, see :mod:`gridkit.publish._elements`). Internal figures
of the partition or the router (weight, target, deviation, compactness,
deadhead, lower bound, gap, method) are left out; areas are given in km² or
ha, workloads in hours, lengths in km, times in hours and minutes.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gridkit.publish._names import grid_codes, grid_titles, village_names, village_text

_ISSUE_KINDS = {
    "gap": "缝隙 gap",
    "overlap": "重叠 overlap",
    "outside_jurisdiction": "超出辖区 outside the jurisdiction",
    "not_nested": "跨村/社区 not within one village",
    "invalid_geometry": "几何无效 invalid geometry",
    "edge_mismatch": "边界不重合 edges do not match",
    "building_split": "建筑被分割 building split",
    "building_unassigned": "建筑未归属 building in no grid",
    "entity_unassigned": "主体未归属 entity in no grid",
    "duplicate_code": "编码重复 duplicate code",
    "missing_code": "缺少编码 missing code",
    "missing_responsible": "缺少责任人 no person responsible",
    "staff_unknown_grid": "人员网格不存在 staff of an unknown grid",
}
_REGIMES = {"key": "重点巡查 key", "general": "一般巡查 general", "exempt": "免检 exempt"}
_RISKS = {1: "一类 class 1 (high)", 2: "二类 class 2", 3: "三类 class 3"}


def _number(value) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _text(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def area_text(m2) -> str:
    """An area in km² (from 1 km²) or hectares."""
    x = _number(m2)
    if x is None:
        return ""
    if x >= 1e6:
        return f"{x / 1e6:,.2f} km²"
    ha = x / 1e4
    return f"{ha:.2f} ha" if ha < 10 else f"{ha:,.1f} ha"


def hours_text(minutes) -> str:
    """A monthly workload in hours."""
    x = _number(minutes)
    return "" if x is None else f"{x / 60:,.1f} 小时/月 h per month"


def duration_text(minutes) -> str:
    """A time as minutes, or hours and minutes from an hour on."""
    x = _number(minutes)
    if x is None:
        return ""
    total = round(x)
    if total < 60:
        return f"{total} 分钟 min"
    h, m = divmod(total, 60)
    return f"{h} 小时 {m} 分钟 ({h} h {m:02d} min)"


def km_text(metres) -> str:
    x = _number(metres)
    if x is None:
        return ""
    return f"{x / 1000:,.2f} km" if x >= 1000 else f"{x:,.0f} m"


def _count(value) -> str:
    x = _number(value)
    return "" if x is None else f"{int(round(x)):,}"


def _triple(row: pd.Series, cols: tuple[str, str, str]) -> str:
    if not all(c in row.index for c in cols):
        return ""
    return " / ".join(_count(row[c]) or "0" for c in cols)


def _keep(rows: list[tuple[str, str]]) -> list[list[str]]:
    return [[label, value] for label, value in rows if value]


def _people(row: pd.Series) -> list[tuple[str, str]]:
    """The persons with their phones, one a line (two rows when they do not pair up)."""
    persons = [p for p in _text(row.get("persons")).split("; ") if p]
    phones = [p for p in _text(row.get("phones")).split("; ") if p]
    if persons and len(phones) == len(persons):
        lines = [f"{p}  {t}" for p, t in zip(persons, phones, strict=True)]
        return [("责任人 Persons", "\n".join(lines))]
    return [("责任人 Persons", "\n".join(persons)), ("联系电话 Phones", "\n".join(phones))]


def grid_rows(stats: pd.DataFrame, villages: pd.DataFrame | None = None) -> list[list[list[str]]]:
    """One popup per grid (``stats`` from :func:`gridkit.publish.tables.grid_stats`)."""
    codes = grid_codes(stats)
    titles = grid_titles(stats, villages)
    vnames = village_names(stats, villages)
    vcodes = [_text(v) for v in stats.get("village_code", pd.Series([""] * len(stats)))]
    ids = [_text(v) for v in stats.get("grid_id", pd.Series([""] * len(stats)))]
    out = []
    for i, (_, row) in enumerate(stats.iterrows()):
        rows = [
            ("网格 Grid", titles[i] if titles[i] != codes[i] else ""),
            ("网格编码 Code", codes[i]),
            ("网格标识 Id", ids[i] if "grid_code" in stats.columns and ids[i] != codes[i] else ""),
            ("村/社区 Village", village_text(vnames[i], vcodes[i])),
            *_people(row),
            ("面积 Area", area_text(row.get("area_m2"))),
            ("户数 Households", _count(row.get("households"))),
            ("主体户数 Entities", _count(row.get("entities"))),
            (
                "重点/一般/免检 Key/general/exempt",
                _triple(row, ("entities_key", "entities_general", "entities_exempt")),
            ),
            (
                "一/二/三类风险 Risk 1/2/3",
                _triple(row, ("entities_risk1", "entities_risk2", "entities_risk3")),
            ),
            ("月工作量 Workload", hours_text(row.get("workload_min"))),
        ]
        out.append(_keep(rows))
    return out


def route_rows(routes: pd.DataFrame, codes: dict[str, str]) -> list[list[list[str]]]:
    """One popup per patrol route; ``codes`` maps a grid id to the code shown on the map."""
    out = []
    for _, row in routes.iterrows():
        grid = _text(row.get("grid_id"))
        unreachable = _number(row.get("unreachable_m")) or 0.0
        rows = [
            ("网格 Grid", codes.get(grid, grid)),
            ("巡查路线 Route", _text(row.get("name"))),
            ("路线长度 Length", km_text(row.get("length_m"))),
            ("街道长度 Streets", km_text(row.get("street_m"))),
            ("用时 Time", duration_text(row.get("minutes"))),
            ("无法到达 Not reachable", km_text(unreachable) if unreachable >= 1 else ""),
        ]
        out.append(_keep(rows))
    return out


def entity_rows(entities: pd.DataFrame) -> list[list[list[str]]]:
    out = []
    for _, row in entities.iterrows():
        risk = _number(row.get("risk"))
        regime = _text(row.get("regime"))
        rows = [
            ("名称 Name", _text(row.get("name"))),
            ("类别 Category", _text(row.get("category"))),
            ("风险度 Risk", _RISKS.get(int(risk), "") if risk is not None else ""),
            ("信用度 Credit", _text(row.get("credit"))),
            ("巡查类别 Regime", _REGIMES.get(regime, regime)),
            ("主体编号 Id", _text(row.get("entity_id"))),
        ]
        out.append(_keep(rows))
    return out


def issue_rows(issues: pd.DataFrame, codes: dict[str, str]) -> list[list[list[str]]]:
    out = []
    for _, row in issues.iterrows():
        kind = _text(row.get("kind"))
        grids = row.get("grids")
        if isinstance(grids, (list, tuple, np.ndarray)):
            grids = ", ".join(codes.get(str(g), str(g)) for g in grids)
        area = _number(row.get("area"))
        rows = [
            ("问题 Issue", _ISSUE_KINDS.get(kind, kind)),
            ("网格 Grids", _text(grids)),
            ("面积 Area", f"{area:,.1f} m²" if area else ""),
            ("说明 Detail", _text(row.get("detail"))),
        ]
        out.append(_keep(rows))
    return out


def village_rows(villages: pd.DataFrame) -> list[list[list[str]]]:
    out = []
    for _, row in villages.iterrows():
        out.append(
            _keep(
                [("村/社区 Village", _text(row.get("name"))), ("代码 Code", _text(row.get("code")))]
            )
        )
    return out
