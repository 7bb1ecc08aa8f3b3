"""The workload model: inspection policy, entity regimes, minutes per month.

An entity's risk class (1-3) and credit grade (A/B/C) select an inspection
regime (``key``, ``general`` or ``exempt``); the regime sets visits per month
and minutes per visit. The policy is a plain file the planner edits: TOML (the
default, ``gridkit/assets/policy.toml``, documents every key) or CSV (the
matrix only). The work of an area is

- ``visit_min``: the sum over its entities of visits x minutes per visit,
- ``patrol_min``: street length / patrol speed x patrol passes per month,
- ``workload_min = visit_min + patrol_min`` (minutes per month).
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gridkit.errors import InvalidValueError, PolicyError

__all__ = [
    "REGIMES",
    "DEFAULT_POLICY_PATH",
    "Policy",
    "Regime",
    "PolicyError",
    "load_policy",
    "classify_entities",
    "patrol_minutes",
]

log = logging.getLogger(__name__)

REGIMES = ("key", "general", "exempt")
RISKS = (1, 2, 3)
GRADES = ("A", "B", "C")
DEFAULT_POLICY_PATH = Path(__file__).resolve().parent / "assets" / "policy.toml"
_SECTIONS = {"regimes", "matrix", "patrol", "unknown"}
_REGIME_KEYS = {"visits_per_month", "minutes_per_visit"}
_PATROL_KEYS = {"speed_m_per_min", "passes_per_month"}
_UNKNOWN_KEYS = {"missing", "unrecognised"}
_CSV_COLUMNS = ("risk", "credit", "regime", "visits_per_month", "minutes_per_visit")


@dataclass(frozen=True)
class Regime:
    """Visit frequency and duration of one inspection regime."""

    visits_per_month: float
    minutes_per_visit: float

    @property
    def minutes_per_month(self) -> float:
        return self.visits_per_month * self.minutes_per_visit


@dataclass(frozen=True)
class Policy:
    """Inspection policy: risk x credit -> regime -> visits and minutes.

    Attributes
    ----------
    regimes
        ``{"key": Regime, "general": Regime, "exempt": Regime}``.
    matrix
        ``{(risk, credit): regime}`` for risk 1-3 and credit A/B/C (all nine).
    patrol_speed_m_per_min, patrol_passes_per_month
        Street patrol: metres walked per minute, patrol passes per month.
    missing
        Regime for an entity without risk or credit, or ``"error"``.
    unrecognised
        Regime for a risk or credit outside the matrix, or ``"error"``.
    source
        Where the policy was read from (for messages).
    """

    regimes: Mapping[str, Regime]
    matrix: Mapping[tuple[int, str], str]
    patrol_speed_m_per_min: float = 67.0
    patrol_passes_per_month: float = 30.0
    missing: str = "general"
    unrecognised: str = "error"
    source: str = field(default="<policy>", compare=False)

    def __post_init__(self) -> None:
        where = self.source
        if set(self.regimes) != set(REGIMES):
            raise PolicyError(
                f"{where}: regimes must be exactly {list(REGIMES)}, got {sorted(self.regimes)}"
            )
        for name, reg in self.regimes.items():
            for attr in _REGIME_KEYS:
                value = getattr(reg, attr)
                if not np.isfinite(value) or value < 0:
                    raise PolicyError(f"{where}: regimes.{name}.{attr} must be >= 0, got {value!r}")
        need = {(r, g) for r in RISKS for g in GRADES}
        absent = sorted(need - set(self.matrix))
        if absent:
            raise PolicyError(
                f"{where}: the matrix lacks risk/credit combination(s) {absent}; "
                "give a regime for every risk 1-3 x credit A/B/C"
            )
        extra = sorted(map(str, set(self.matrix) - need))
        if extra:
            raise PolicyError(f"{where}: unknown risk/credit combination(s) {extra} in the matrix")
        bad = {k: v for k, v in self.matrix.items() if v not in REGIMES}
        if bad:
            raise PolicyError(
                f"{where}: unknown regime(s) in the matrix {bad}; use one of {list(REGIMES)}"
            )
        if not self.patrol_speed_m_per_min > 0:
            raise PolicyError(
                f"{where}: patrol.speed_m_per_min must be > 0, got {self.patrol_speed_m_per_min!r}"
            )
        if not self.patrol_passes_per_month >= 0:
            raise PolicyError(
                f"{where}: patrol.passes_per_month must be >= 0, "
                f"got {self.patrol_passes_per_month!r}"
            )
        for name in ("missing", "unrecognised"):
            value = getattr(self, name)
            if value not in REGIMES + ("error",):
                raise PolicyError(
                    f"{where}: unknown.{name} must be one of {list(REGIMES) + ['error']}, "
                    f"got {value!r}"
                )

    def regime_table(self) -> pd.DataFrame:
        """The matrix as a table: risk, credit, regime, visits_per_month, minutes_per_visit."""
        rows = [
            {"risk": r, "credit": g, "regime": reg,
             "visits_per_month": self.regimes[reg].visits_per_month,
             "minutes_per_visit": self.regimes[reg].minutes_per_visit}
            for (r, g), reg in sorted(self.matrix.items())
        ]
        return pd.DataFrame(rows)


def _reject_unknown(keys, allowed, where: str) -> None:
    extra = sorted(set(keys) - set(allowed))
    if extra:
        raise PolicyError(f"{where}: unknown key(s) {extra}; allowed: {sorted(allowed)}")


def _number(table: Mapping, key: str, where: str) -> float:
    if key not in table:
        raise PolicyError(f"{where}: missing {key!r}")
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(f"{where}.{key}: expected a number, got {value!r}")
    return float(value)


def _from_toml(data: Mapping, source: str, defaults: Policy | None) -> Policy:
    _reject_unknown(data, _SECTIONS, source)
    # a file may give only the cells and regimes it changes; the rest keep the defaults
    regimes = dict(defaults.regimes) if defaults is not None else {}
    _reject_unknown(data.get("regimes", {}), REGIMES, f"{source}: [regimes]")
    for name, table in data.get("regimes", {}).items():
        where = f"{source}: [regimes.{name}]"
        _reject_unknown(table, _REGIME_KEYS, where)
        regimes[name] = Regime(_number(table, "visits_per_month", where),
                               _number(table, "minutes_per_visit", where))
    matrix = dict(defaults.matrix) if defaults is not None else {}
    for risk, row in data.get("matrix", {}).items():
        try:
            r = int(risk)
        except ValueError:
            raise PolicyError(f"{source}: [matrix.{risk}]: risk must be 1, 2 or 3") from None
        _reject_unknown(row, GRADES, f"{source}: [matrix.{risk}]")
        for grade, regime in row.items():
            matrix[(r, grade)] = regime
    patrol = data.get("patrol", {})
    _reject_unknown(patrol, _PATROL_KEYS, f"{source}: [patrol]")
    unknown = data.get("unknown", {})
    _reject_unknown(unknown, _UNKNOWN_KEYS, f"{source}: [unknown]")
    base = defaults or Policy  # the class holds the built-in defaults
    return Policy(
        regimes=regimes,
        matrix=matrix,
        patrol_speed_m_per_min=_number(patrol, "speed_m_per_min", f"{source}: [patrol]")
        if "speed_m_per_min" in patrol else getattr(base, "patrol_speed_m_per_min", 67.0),
        patrol_passes_per_month=_number(patrol, "passes_per_month", f"{source}: [patrol]")
        if "passes_per_month" in patrol else getattr(base, "patrol_passes_per_month", 30.0),
        missing=str(unknown.get("missing", getattr(base, "missing", "general"))),
        unrecognised=str(unknown.get("unrecognised", getattr(base, "unrecognised", "error"))),
        source=source,
    )


def _from_csv(path: Path, defaults: Policy) -> Policy:
    source = os.fspath(path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.columns = [c.strip().lower() for c in df.columns]
    absent = [c for c in _CSV_COLUMNS if c not in df.columns]
    if absent:
        raise PolicyError(
            f"{source}: missing column(s) {absent}; a CSV policy has one row per risk x credit "
            f"with columns {list(_CSV_COLUMNS)}"
        )
    _reject_unknown(df.columns, _CSV_COLUMNS, source)
    matrix, regimes = {}, {}
    for i, row in df.iterrows():  # nine rows: a loop is clearest
        where = f"{source} row {i + 2}"
        try:
            risk = int(row["risk"])
            visits, minutes = float(row["visits_per_month"]), float(row["minutes_per_visit"])
        except ValueError:
            raise PolicyError(
                f"{where}: risk, visits_per_month and minutes_per_visit must be numbers"
            ) from None
        grade, regime = row["credit"].strip().upper(), row["regime"].strip()
        matrix[(risk, grade)] = regime
        reg = Regime(visits, minutes)
        if regime in regimes and regimes[regime] != reg:
            raise PolicyError(
                f"{where}: regime {regime!r} has visits/minutes {visits}/{minutes} here but "
                f"{regimes[regime].visits_per_month}/{regimes[regime].minutes_per_visit} above; "
                "a regime has one frequency and duration"
            )
        regimes[regime] = reg
    for name in REGIMES:  # a regime no combination uses keeps its default figures
        regimes.setdefault(name, defaults.regimes[name])
    return Policy(regimes=regimes, matrix=matrix,
                  patrol_speed_m_per_min=defaults.patrol_speed_m_per_min,
                  patrol_passes_per_month=defaults.patrol_passes_per_month,
                  missing=defaults.missing, unrecognised=defaults.unrecognised, source=source)


def load_policy(path: str | os.PathLike | None = None) -> Policy:
    """Read an inspection policy (TOML or CSV); the default policy when ``path`` is None.

    A TOML file may give only what it changes (e.g. just ``[patrol]``, or one
    matrix cell ``[matrix.2] C = "general"``); everything else keeps the
    defaults of ``gridkit/assets/policy.toml``, which documents every key. A
    CSV file holds the matrix only, one row per risk x credit:
    ``risk,credit,regime,visits_per_month,minutes_per_visit``; patrol and
    unknown-value handling keep the defaults.

    Raises
    ------
    PolicyError
        Unknown sections, keys or regimes, a missing combination, a negative
        figure.

    Examples
    --------
    >>> policy = load_policy()
    >>> policy.matrix[(3, "A")], policy.regimes["key"].visits_per_month
    ('exempt', 1.0)
    """
    default_data = tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    defaults = _from_toml(default_data, os.fspath(DEFAULT_POLICY_PATH), None)
    if path is None:
        return defaults
    path = Path(path)
    if not path.exists():
        raise PolicyError(f"policy file {os.fspath(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _from_csv(path, defaults)
    if suffix != ".toml":
        raise PolicyError(f"policy file {os.fspath(path)!r}: use a .toml or .csv file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file {os.fspath(path)!r} is not valid TOML: {exc}") from exc
    return _from_toml(data, os.fspath(path), defaults)


def _normalise(values: pd.Series, kind: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(normalised values, missing mask, unrecognised mask)."""
    missing = values.isna() | (values.astype("string").str.strip() == "")
    if kind == "risk":
        norm = pd.to_numeric(values, errors="coerce")
        ok = norm.isin(RISKS)
        norm = norm.where(ok)
    else:
        norm = values.astype("string").str.strip().str.upper()
        ok = norm.isin(GRADES)
        norm = norm.where(ok)
    return norm, missing.fillna(True).astype(bool), (~missing & ~ok.fillna(False)).astype(bool)


def classify_entities(entities: pd.DataFrame, policy: Policy | None = None):
    """A copy of ``entities`` with ``regime``, ``visits_per_month``, ``minutes_per_visit``.

    Parameters
    ----------
    entities
        A (Geo)DataFrame with ``risk`` (1-3) and ``credit`` (A/B/C) columns;
        a missing column or an empty cell counts as missing.
    policy
        The :class:`Policy` (default: :func:`load_policy`).

    Raises
    ------
    InvalidValueError
        A missing value when the policy's ``unknown.missing`` is ``"error"``,
        or a value outside the matrix when ``unknown.unrecognised`` is
        ``"error"`` (the default); the message names the rows.

    Examples
    --------
    >>> import pandas as pd
    >>> out = classify_entities(pd.DataFrame({"risk": [1, 3, None], "credit": ["A", "A", "B"]}))
    >>> out["regime"].tolist()
    ['key', 'exempt', 'general']
    """
    policy = policy or load_policy()
    out = entities.copy()
    n = len(out)
    empty = pd.Series([None] * n, index=out.index, dtype=object)
    risk_col = out["risk"] if "risk" in out.columns else empty
    credit_col = out["credit"] if "credit" in out.columns else empty
    risk, r_missing, r_bad = _normalise(risk_col, "risk")
    grade, g_missing, g_bad = _normalise(credit_col, "credit")
    for label, mask, setting in (
        ("unrecognised", r_bad | g_bad, policy.unrecognised),
        ("missing", (r_missing | g_missing) & ~(r_bad | g_bad), policy.missing),
    ):
        if mask.any() and setting == "error":
            rows = list(out.index[mask.to_numpy()][:5])
            what = ("risk outside 1-3 or credit outside A/B/C" if label == "unrecognised"
                    else "no risk class or credit grade")
            raise InvalidValueError(
                f"entities: {int(mask.sum())} row(s) with {what} (index {rows}); fix the data, "
                f"or set [unknown] {label} = \"general\" (or another regime) in the policy "
                f"({policy.source})"
            )
    lookup = pd.Series(
        list(policy.matrix.values()),
        index=pd.MultiIndex.from_tuples(list(policy.matrix.keys())),
    )
    keys = pd.MultiIndex.from_arrays([risk.fillna(-1).astype(int).to_numpy(),
                                      grade.fillna("?").astype(object).to_numpy()])
    regime = pd.Series(lookup.reindex(keys).to_numpy(), index=out.index, dtype=object)
    unknown_regime = np.where((r_bad | g_bad).to_numpy(), policy.unrecognised, policy.missing)
    regime = regime.where(regime.notna(), pd.Series(unknown_regime, index=out.index))
    counts = (r_bad | g_bad).sum(), ((r_missing | g_missing) & ~(r_bad | g_bad)).sum()
    if counts[0] or counts[1]:
        log.info("entities: %d unrecognised and %d missing class(es) given the policy's default "
                 "regimes", counts[0], counts[1])
    out["regime"] = regime.astype(str)
    for attr in ("visits_per_month", "minutes_per_visit"):
        figures = {name: getattr(reg, attr) for name, reg in policy.regimes.items()}
        out[attr] = regime.map(figures).astype(float)
    return out


def patrol_minutes(street_length_m, policy: Policy | None = None):
    """Patrol minutes per month for a street length (m): length / speed x passes.

    Examples
    --------
    >>> float(patrol_minutes(670.0))   # 10 min per pass, 30 passes
    300.0
    """
    policy = policy or load_policy()
    return (np.asarray(street_length_m, dtype=float) / policy.patrol_speed_m_per_min
            * policy.patrol_passes_per_month)
