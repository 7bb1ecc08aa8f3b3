"""The workload model: policy files and entity regimes (issue #3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridkit import InvalidValueError, Policy, classify_entities, load_policy
from gridkit.workload import DEFAULT_POLICY_PATH, PolicyError, Regime, patrol_minutes


def test_default_policy_follows_domain():
    p = load_policy()
    assert p.source.endswith("policy.toml") and DEFAULT_POLICY_PATH.exists()
    # key: high risk or low credit; exempt: low risk and high credit
    assert {p.matrix[(1, g)] for g in "ABC"} == {"key"}
    assert {p.matrix[(r, "C")] for r in (1, 2, 3)} == {"key"}
    assert p.matrix[(3, "A")] == "exempt"
    assert p.matrix[(2, "A")] == p.matrix[(3, "B")] == "general"
    assert p.regimes["key"].visits_per_month >= 1
    assert 10 <= p.regimes["key"].minutes_per_visit <= 15
    assert p.regimes["general"].visits_per_month == pytest.approx(1 / 3, abs=1e-3)
    assert 5 <= p.regimes["general"].minutes_per_visit <= 8
    assert p.regimes["exempt"].minutes_per_month == 0
    assert len(p.regime_table()) == 9


def test_classify_sample_entities(sample):
    entities = sample["entities"]
    out = classify_entities(entities)
    assert "regime" not in entities.columns  # the input is not modified
    assert set(out["regime"]) <= {"key", "general", "exempt"}
    key = (out["risk"] == 1) | (out["credit"] == "C")
    assert (out.loc[key, "regime"] == "key").all()
    assert (out.loc[(out["risk"] == 3) & (out["credit"] == "A"), "regime"] == "exempt").all()
    assert (out.loc[out["regime"] == "exempt", "visits_per_month"] == 0).all()


def test_classify_normalises_values():
    out = classify_entities(pd.DataFrame({"risk": ["1", 2.0, 3], "credit": [" a", "B", "c "]}))
    assert out["regime"].tolist() == ["key", "general", "key"]


def test_missing_values_take_the_policy_default():
    out = classify_entities(pd.DataFrame({"risk": [None, 3], "credit": ["A", ""]}))
    assert out["regime"].tolist() == ["general", "general"]
    no_columns = classify_entities(pd.DataFrame({"x": [1, 2]}))
    assert no_columns["regime"].tolist() == ["general", "general"]


def test_unrecognised_values_are_an_error_naming_rows():
    df = pd.DataFrame({"risk": [1, 4, 2], "credit": ["A", "A", "D"]}, index=[10, 11, 12])
    with pytest.raises(InvalidValueError, match=r"2 row\(s\).*\[11, 12\].*unrecognised"):
        classify_entities(df)


def test_policy_can_accept_unknowns_or_refuse_missing(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[unknown]\nmissing = "error"\nunrecognised = "key"\n')
    p = load_policy(path)
    assert classify_entities(pd.DataFrame({"risk": [9], "credit": ["Z"]}), p)["regime"][0] == "key"
    with pytest.raises(InvalidValueError, match="no risk class"):
        classify_entities(pd.DataFrame({"risk": [None], "credit": ["A"]}), p)


def test_partial_toml_keeps_defaults(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("[regimes.key]\nvisits_per_month = 4\nminutes_per_visit = 15\n"
                    "[regimes.general]\nvisits_per_month = 1\nminutes_per_visit = 8\n"
                    "[regimes.exempt]\nvisits_per_month = 0\nminutes_per_visit = 0\n")
    p = load_policy(path)
    assert p.regimes["key"] == Regime(4.0, 15.0)
    assert p.matrix == load_policy().matrix
    out = classify_entities(pd.DataFrame({"risk": [1], "credit": ["A"]}), p)
    assert out["visits_per_month"][0] * out["minutes_per_visit"][0] == 60


def test_toml_changes_single_matrix_cells(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[matrix.2]\nC = "general"\n')
    p, default = load_policy(path), load_policy()
    assert p.matrix[(2, "C")] == "general"
    assert {k: v for k, v in p.matrix.items() if k != (2, "C")} == \
        {k: v for k, v in default.matrix.items() if k != (2, "C")}


def test_csv_policy(tmp_path):
    rows = [(r, g, "key" if r == 1 or g == "C" else "general") for r in (1, 2, 3) for g in "ABC"]
    df = pd.DataFrame(rows, columns=["risk", "credit", "regime"])
    df["visits_per_month"] = np.where(df["regime"] == "key", 2, 0.5)
    df["minutes_per_visit"] = np.where(df["regime"] == "key", 10, 6)
    path = tmp_path / "policy.csv"
    df.to_csv(path, index=False)
    p = load_policy(path)
    assert p.matrix[(3, "A")] == "general"
    assert p.regimes["key"] == Regime(2.0, 10.0)
    assert p.regimes["exempt"] == load_policy().regimes["exempt"]  # unused: default figures


def test_csv_policy_inconsistent_regime(tmp_path):
    path = tmp_path / "policy.csv"
    path.write_text("risk,credit,regime,visits_per_month,minutes_per_visit\n"
                    "1,A,key,1,10\n1,B,key,2,10\n")
    with pytest.raises(PolicyError, match="row 3.*one frequency"):
        load_policy(path)


@pytest.mark.parametrize("text, message", [
    ("[patrols]\nspeed_m_per_min = 1\n", "unknown key.*patrols"),
    ("[patrol]\nspeed = 1\n", r"\[patrol\].*unknown key.*speed"),
    ("[patrol]\nspeed_m_per_min = 0\n", "speed_m_per_min must be > 0"),
    ("[regimes.key]\nvisits_per_month = 1\n", "minutes_per_visit"),
    ("[matrix.1]\nA = \"urgent\"\n", "unknown regime"),
    ("[matrix.4]\nA = \"key\"\n", "unknown risk/credit"),
    ("[unknown]\nmissing = \"skip\"\n", "unknown.missing must be one of"),
    ("[regimes.key]\nvisits_per_month = -1\nminutes_per_visit = 1\n", "regimes"),
    ("not toml at all [", "not valid TOML"),
])
def test_bad_policy_files(tmp_path, text, message):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=message):
        load_policy(path)


def test_policy_path_errors(tmp_path):
    with pytest.raises(PolicyError, match="does not exist"):
        load_policy(tmp_path / "nope.toml")
    (tmp_path / "p.yaml").write_text("x: 1")
    with pytest.raises(PolicyError, match=".toml or .csv"):
        load_policy(tmp_path / "p.yaml")


def test_policy_object_checks_matrix():
    regimes = {n: Regime(1, 1) for n in ("key", "general", "exempt")}
    with pytest.raises(PolicyError, match="lacks"):
        Policy(regimes=regimes, matrix={(1, "A"): "key"})
    with pytest.raises(ValueError):  # PolicyError is a ValueError
        Policy(regimes={"key": Regime(1, 1)}, matrix={})


def test_patrol_minutes():
    p = load_policy()
    np.testing.assert_allclose(patrol_minutes([0, 67 * 2], p), [0, 2 * 30])
