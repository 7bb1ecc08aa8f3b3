"""What a published grid is called: its code, its village (name and code), its sequence.

Everything is read from columns, never parsed out of an id: ``grid_code``
(else ``grid_id``) is the code; ``village_name`` on the grids, else the
``name`` of the village whose ``code`` equals the grid's ``village_code`` in
a villages layer; ``grid_seq`` is the sequence inside the village (written by
:func:`gridkit.assign_codes`). Also the OpenStreetMap credit that any output
built on OSM data must carry (ODbL).
"""

from __future__ import annotations

import math

import pandas as pd

from gridkit.publish.options import OSM_ATTRIBUTION

#: Columns by which a layer shows it comes from OpenStreetMap (gridkit's sample,
#: pyrosm, osmnx, ogr2ogr's OSM driver).
OSM_COLUMNS = ("osm_id", "osmid", "osm_type", "osm_way_id")


def _clean(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def village_names(grids: pd.DataFrame, villages: pd.DataFrame | None) -> list[str]:
    """Each grid's village name ("" when unknown)."""
    if "village_name" in grids.columns:
        own = [_clean(v) for v in grids["village_name"]]
        if any(own):
            return own
    if villages is None or "village_code" not in grids.columns:
        return [""] * len(grids)
    if not {"code", "name"} <= set(villages.columns):
        return [""] * len(grids)
    lookup = {_clean(c): _clean(n) for c, n in zip(villages["code"], villages["name"], strict=True)}
    return [lookup.get(_clean(c), "") for c in grids["village_code"]]


def village_text(name: str, code: str) -> str:
    """``"name (code)"``, or whichever of the two is known."""
    if name and code and name != code:
        return f"{name} ({code})"
    return name or code


def grid_codes(grids: pd.DataFrame) -> list[str]:
    """Each grid's code: ``grid_code``, else ``grid_id``, else its position from 1."""
    for col in ("grid_code", "grid_id"):
        if col in grids.columns:
            return [_clean(v) or str(i + 1) for i, v in enumerate(grids[col])]
    return [str(i + 1) for i in range(len(grids))]


def grid_titles(grids: pd.DataFrame, villages: pd.DataFrame | None) -> list[str]:
    """A name for each grid: its own ``name``, else "<village> 第N网格" (sequence N)."""
    vnames = village_names(grids, villages)
    vcodes = [_clean(v) for v in grids.get("village_code", pd.Series([""] * len(grids)))]
    seqs = [_clean(v) for v in grids.get("grid_seq", pd.Series([""] * len(grids)))]
    names = [_clean(v) for v in grids.get("name", pd.Series([""] * len(grids)))]
    out = []
    for own, vname, vcode, seq in zip(names, vnames, vcodes, seqs, strict=True):
        if own:
            out.append(own)
            continue
        village = vname or vcode
        seq = seq.removesuffix(".0")
        out.append(f"{village} 第{seq}网格" if village and seq else village)
    return out


def osm_based(*layers) -> bool:
    """Whether any of the layers comes from OpenStreetMap (see :data:`OSM_COLUMNS`)."""
    return any(
        layer is not None and any(c in layer.columns for c in OSM_COLUMNS) for layer in layers
    )


def with_osm_credit(attribution: str | None, *layers) -> str | None:
    """``attribution``, with the OpenStreetMap credit added when a layer is OSM data."""
    if not osm_based(*layers):
        return attribution
    if attribution and "openstreetmap" in attribution.lower():
        return attribution
    return f"{attribution} · {OSM_ATTRIBUTION}" if attribution else OSM_ATTRIBUTION
