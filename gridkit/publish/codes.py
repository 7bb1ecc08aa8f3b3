"""Grid codes: the standard unit-grid code, numbered west to east, north to south.

The default scheme (``"gb15"``) is the common 15-digit layout: the 12-digit
division code of the village or community (6-digit county per GB/T 2260,
3-digit town/street, 3-digit village/community, the villages layer's ``code``)
followed by a 3-digit sequence. CJ/T 349 (``"cjt349"``) uses 20 digits: a
6-digit object class, the 12-digit village code and a 2-digit sequence.

Numbering inside each village ("从西到东、从北到南") is
:func:`gridkit.grids.naming.village_order`, the one :func:`gridkit.grids.partition`
names its grids with: the village is cut into horizontal rows of ``row_height``
metres counted down from the northern edge of its grids; a grid belongs to the
row holding its centroid; rows are numbered north to south and, inside a row,
grids west to east by centroid. By default ``row_height`` is the square root of
the median area of the village's grids (about one grid's height), so a city of
200 m grids and a county of 5 km grids both get sensible rows; give a number of
metres to fix it.

One identity: a grid whose ``grid_id`` already is a code of this scheme for its
village (as :func:`gridkit.grids.partition` names them) keeps it as its
``grid_code``; the others are numbered after them.

Codes are stable: the order depends only on the geometries (ties broken by
``grid_id``), so unchanged grids get the same codes; with ``previous`` (the
last published grids with their ``grid_code``), every grid whose boundary is
unchanged keeps its old code and new grids take numbers above the highest one
the village ever used, so that a retired code is not given to another area.
"""

from __future__ import annotations

import logging
import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.crs import to_crs, working_crs
from gridkit.errors import (
    CodeOverflowError,
    DuplicateCodeError,
    GridkitWarning,
    InvalidValueError,
    MissingColumnError,
    VillageCodeError,
)
from gridkit.grids.naming import village_order
from gridkit.layers import check_layer
from gridkit.publish._messages import plain, plain_list
from gridkit.publish.options import SCHEMES, CodeScheme

__all__ = [
    "CodeScheme",
    "SCHEMES",
    "assign_codes",
    "parse_code",
    "DuplicateCodeError",
    "CodeOverflowError",
    "VillageCodeError",
]

log = logging.getLogger(__name__)


def _scheme(scheme: str | CodeScheme) -> CodeScheme:
    if isinstance(scheme, CodeScheme):
        return scheme
    if scheme not in SCHEMES:
        raise InvalidValueError(
            f"unknown `scheme` {plain(scheme)!r}; use one of {sorted(SCHEMES)} "
            "or a gridkit.publish.codes.CodeScheme"
        )
    return SCHEMES[scheme]


def parse_code(code: str, *, scheme: str | CodeScheme = "gb15") -> dict[str, str | int]:
    """Split a grid code into its fields.

    Examples
    --------
    >>> parse_code("110101001002007")
    {'object_class': '', 'county': '110101', 'town': '001', 'village': '002', 'sequence': 7}
    """
    s = _scheme(scheme)
    text = str(code)
    if not re.fullmatch(rf"\d{{{s.length}}}", text):
        raise VillageCodeError(f"{text!r} is not a {s.length}-digit {s.name} grid code")
    c, v = s.class_digits, s.village_digits
    village = text[c : c + v]
    return {
        "object_class": text[:c],
        "county": village[:6],
        "town": village[6:9],
        "village": village[9:],
        "sequence": int(text[c + v :]),
    }


def _village_codes(grids: gpd.GeoDataFrame, column: str, s: CodeScheme) -> pd.Series:
    if column not in grids.columns:
        raise MissingColumnError(
            f"grids: no column {column!r} with the village code; the layer has "
            f"{list(grids.columns)}. Name the column with `village_column=`, or pass "
            "`villages=` (a layer with `code`) to take each grid's village from the map"
        )
    raw = grids[column]
    text = raw.astype("string").str.strip()
    # a whole number read as a float ("110101001001.0") is the same code; nothing is padded
    text = text.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    bad = raw.isna() | ~text.str.fullmatch(rf"\d{{{s.village_digits}}}").fillna(False)
    if bad.any():
        raise VillageCodeError(_bad_codes_message(grids, column, text, bad, s))
    return text.astype(str)


def _bad_codes_message(grids, column: str, text: pd.Series, bad: pd.Series, s) -> str:
    raw = grids[column][bad]
    examples = sorted({str(plain(v)) for v in raw.dropna()})[:5]
    if raw.isna().any():
        examples.append("<missing>")
    msg = (
        f"grids: column {column!r} must hold {s.village_digits}-digit village codes "
        f"(6 county + 3 town + 3 village); {int(bad.sum())} row(s) do not, rows "
        f"{plain_list(grids.index[bad])} hold {examples}. "
    )
    if text[bad].str.fullmatch(r"\d+").fillna(False).any():
        msg += (
            "Codes are never padded or cut: a code read as a number loses its leading "
            "zeros (000091001001 becomes 91001001), so read the column as text (pandas "
            "dtype=str; in a spreadsheet, format the column as text) and give each code "
            "in full. "
        )
    return msg + "Or take each grid's code from the villages layer with `villages=`."


def _village_from_layer(grids: gpd.GeoDataFrame, villages: gpd.GeoDataFrame, crs) -> pd.Series:
    """The code of the village that holds the largest part of each grid."""
    vill = to_crs(check_layer(villages, "villages"), crs)
    g = grids.geometry.values
    inter = gpd.sjoin(
        grids[[grids.geometry.name]].reset_index(names="_row"),
        vill[["code", vill.geometry.name]],
        predicate="intersects",
        how="inner",
    )
    if inter.empty:
        raise VillageCodeError(
            "grids: no grid overlaps any village; are both layers of the same place?"
        )
    areas = shapely.area(
        shapely.intersection(
            g[grids.index.get_indexer(inter["_row"])],
            vill.geometry.values[inter["index_right"].to_numpy()],
        )
    )
    inter = inter.assign(_a=areas).sort_values("_a", ascending=False).drop_duplicates("_row")
    codes = inter.set_index("_row")["code"].reindex(grids.index)
    if codes.isna().any():
        raise VillageCodeError(
            f"grids: rows {plain_list(grids.index[codes.isna()])} lie outside every village; "
            "clip the grids to the villages"
        )
    return codes.astype(str)


def _order(metric: gpd.GeoDataFrame, row_height: float | None) -> np.ndarray:
    """Positions of the grids of one village in west-east, north-south order."""
    return village_order(metric.geometry.values, metric["_gid"].to_numpy(),
                         row_height=row_height)


def _codes_in_ids(metric: gpd.GeoDataFrame, s: CodeScheme, prefix: str) -> pd.Series:
    """The ``grid_id`` of each grid that already is a code of its village (unique), else NA."""
    ids = pd.Series(metric["_gid"].to_numpy(), index=metric.index, dtype="string")
    own = ids.str.fullmatch(rf"\d{{{s.length}}}").fillna(False) & (
        ids.str.slice(0, s.class_digits + s.village_digits)
        == prefix + metric["_village"].astype("string"))
    own &= ~ids.where(own).duplicated(keep=False)
    return ids.where(own.astype(bool))


def _match_previous(metric: gpd.GeoDataFrame, prev: gpd.GeoDataFrame, min_iou: float) -> pd.Series:
    """Old code of each grid whose boundary is unchanged (IoU >= min_iou, same village)."""
    kept = pd.Series(pd.NA, index=metric.index, dtype="string")
    if prev.empty:
        return kept
    left, right = prev.sindex.query(metric.geometry.values, predicate="intersects")
    if len(left) == 0:
        return kept
    a = metric.geometry.values[left]
    b = prev.geometry.values[right]
    inter = shapely.area(shapely.intersection(a, b))
    union = shapely.area(a) + shapely.area(b) - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    same_village = metric["_village"].to_numpy()[left] == prev["_village"].to_numpy()[right]
    ok = (iou >= min_iou) & same_village
    pairs = pd.DataFrame({"g": left[ok], "p": right[ok], "iou": iou[ok]})
    # best match first, each old grid and each new grid used once
    pairs = pairs.sort_values("iou", ascending=False).drop_duplicates("p").drop_duplicates("g")
    kept.iloc[pairs["g"].to_numpy()] = prev["grid_code"].to_numpy()[pairs["p"].to_numpy()]
    return kept


def assign_codes(
    grids: gpd.GeoDataFrame,
    *,
    village_column: str = "village_code",
    scheme: str | CodeScheme = "gb15",
    object_class: str | None = None,
    row_height: float | None = None,
    previous: gpd.GeoDataFrame | None = None,
    villages: gpd.GeoDataFrame | None = None,
    min_iou: float = 0.995,
) -> gpd.GeoDataFrame:
    """Give every grid its standard code (column ``grid_code``).

    Parameters
    ----------
    grids
        Grid polygons with the village code in ``village_column`` (or give
        ``villages``). Never modified; an existing ``grid_code`` is replaced.
    village_column
        The column holding each grid's 12-digit village/community code.
    scheme
        ``"gb15"`` (15 digits: village code + 3-digit sequence, default),
        ``"cjt349"`` (20 digits: 6-digit object class + village code +
        2-digit sequence) or a :class:`CodeScheme`.
    object_class
        The object-class prefix, required by schemes that have one (CJ/T 349).
    row_height
        Height in metres of the rows used to number grids north to south
        (default: square root of the median area of the village's grids, see module doc).
    previous
        The last published grids with their ``grid_code``: grids whose
        boundary is unchanged (intersection over union >= ``min_iou``, same
        village) keep their code; new ones get numbers above the village's
        highest previous number.
    villages
        A villages layer (``code``): each grid takes the code of the village
        holding most of it, when ``village_column`` is absent.
    min_iou
        How close a boundary must be to the old one to count as unchanged.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with ``grid_code`` (str), ``village_column`` normalised to
        text and ``grid_seq`` (int), in the input CRS and row order.

    Raises
    ------
    VillageCodeError
        A missing or malformed village code.
    CodeOverflowError
        More grids in a village than the sequence can number (999 or 99).
    DuplicateCodeError
        ``previous`` holds a code twice.

    Examples
    --------
    >>> import gridkit as gk
    >>> villages = gk.load_sample()["villages"]
    >>> coded = assign_codes(villages.rename(columns={"code": "village_code"}))
    >>> coded["grid_code"].tolist()[:2]
    ['000091001001001', '000091001002001']
    """
    s = _scheme(scheme)
    grids = check_layer(grids, "grids", id_column="", required=())
    prefix = ""
    if s.class_digits:
        if object_class is None or not re.fullmatch(rf"\d{{{s.class_digits}}}", str(object_class)):
            raise InvalidValueError(
                f"scheme {s.name!r} starts with a {s.class_digits}-digit object class: pass "
                f"`object_class=` as {s.class_digits} digits, got {plain(object_class)!r}"
            )
        prefix = str(object_class)
    if row_height is not None and not (np.isfinite(row_height) and row_height > 0):
        raise InvalidValueError(
            f"`row_height` must be a positive number of metres, got {plain(row_height)!r}"
        )
    if not 0 < min_iou <= 1:
        raise InvalidValueError(f"`min_iou` must be in (0, 1], got {plain(min_iou)!r}")

    crs = working_crs(grids, previous, villages)
    metric = to_crs(grids, crs).reset_index(drop=True)
    if village_column not in grids.columns and villages is not None:
        codes = _village_from_layer(metric, villages, crs)
    else:
        codes = _village_codes(grids, village_column, s).reset_index(drop=True)
    metric["_village"] = codes.to_numpy()
    metric["_gid"] = (
        grids["grid_id"].astype(str).to_numpy()
        if "grid_id" in grids.columns
        else (np.arange(len(grids)) + 1).astype(str)
    )
    kept = _codes_in_ids(metric, s, prefix)
    used_max: dict[str, int] = {}
    if previous is not None:
        prev = _previous(previous, crs, s)
        matched = _match_previous(metric, prev, min_iou)
        # a published code wins over an id that is a code; no code is used twice
        kept = matched.fillna(kept.where(~kept.isin(matched.dropna())))
        used_max = prev.groupby("_village")["_seq"].max().to_dict()

    seq = np.zeros(len(metric), dtype=int)
    for village, part in metric.groupby("_village", sort=True):
        order = part.index.to_numpy()[_order(part.reset_index(drop=True), row_height)]
        taken = {int(c[-s.sequence_digits :]) for c in kept.loc[order].dropna()}
        fresh = [i for i in order if pd.isna(kept.loc[i])]
        numbers = _new_numbers(len(fresh), taken, used_max.get(village, 0), s, village)
        for i, n in zip(fresh, numbers, strict=True):
            seq[i] = n
        for i in order:
            if not pd.isna(kept.loc[i]):
                seq[i] = int(kept.loc[i][-s.sequence_digits :])
    out = grids.copy()
    out[village_column] = metric["_village"].to_numpy()
    out["grid_seq"] = seq
    out["grid_code"] = [
        f"{prefix}{v}{n:0{s.sequence_digits}d}"
        for v, n in zip(metric["_village"], seq, strict=True)
    ]
    dup = out["grid_code"].duplicated(keep=False)
    if dup.any():  # pragma: no cover - guarded by construction; kept as a last check
        raise DuplicateCodeError(f"grids: duplicate codes {sorted(out.loc[dup, 'grid_code'])[:5]}")
    log.info("assigned %d %s codes in %d villages", len(out), s.name,
             metric["_village"].nunique())
    return out


def _new_numbers(
    count: int, taken: set[int], highest: int, s: CodeScheme, village: str
) -> list[int]:
    start = max([highest, *taken]) + 1 if (taken or highest) else 1
    numbers = list(range(start, min(start + count, s.max_sequence + 1)))
    if len(numbers) < count:
        free = [n for n in range(1, start) if n not in taken]
        extra = free[: count - len(numbers)]
        if extra:
            warnings.warn(
                f"village {village}: no numbers left above {start - 1}; reusing retired "
                f"sequence number(s) {extra[:5]} for new grids",
                GridkitWarning,
                stacklevel=3,
            )
        numbers += extra
    if len(numbers) < count:
        total = len(taken) + count
        raise CodeOverflowError(
            f"village {village}: {total} grids but the {s.name} code numbers at most "
            f"{s.max_sequence} per village ({s.sequence_digits}-digit sequence); merge grids, "
            "split the village, or use a scheme with a longer sequence"
        )
    return numbers


def _previous(previous: gpd.GeoDataFrame, crs, s: CodeScheme) -> gpd.GeoDataFrame:
    prev = check_layer(previous, "grids", name="previous", id_column="", required=("grid_code",))
    prev = to_crs(prev, crs).reset_index(drop=True)
    codes = prev["grid_code"].astype("string").str.strip()
    bad = ~codes.str.fullmatch(rf"\d{{{s.length}}}").fillna(False)
    if bad.any():
        raise VillageCodeError(
            f"previous: column 'grid_code' must hold {s.length}-digit {s.name} codes; rows "
            f"{plain_list(prev.index[bad])} hold {sorted(map(str, codes[bad].unique()))[:5]}"
        )
    dup = codes.duplicated(keep=False)
    if dup.any():
        raise DuplicateCodeError(
            f"previous: grid codes repeat: {sorted(codes[dup].unique())[:5]}; "
            "each grid must have its own"
        )
    c, v = s.class_digits, s.village_digits
    prev["grid_code"] = codes.astype(str)
    prev["_village"] = codes.str.slice(c, c + v).astype(str)
    prev["_seq"] = codes.str.slice(c + v).astype(int)
    return prev
