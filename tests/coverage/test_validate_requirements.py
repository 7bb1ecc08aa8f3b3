"""`gridkit validate --requirements`: unmet rules join the coverage report."""

import json

import cli


def test_validate_reports_unmet_requirements(tmp_path, sample_file, capsys):
    rules = tmp_path / "requirements.toml"
    rules.write_text(
        '[[requirement]]\nid = "pharmacy"\nper = "village"\nlayer = "entities"\n'
        'where = { category = ["pharmacy"] }\nat_least = 1\n',
        encoding="utf-8",
    )
    args = ["validate", f"{sample_file}:villages", "--id-column", "code",
            "--jurisdiction", f"{sample_file}:jurisdiction",
            "--villages", f"{sample_file}:villages",
            "--entities", f"{sample_file}:entities", "--format", "json"]
    assert cli.main(args) == 0  # the villages alone are a valid coverage
    capsys.readouterr()
    code = cli.main(args + ["--requirements", str(rules)])
    out = json.loads(capsys.readouterr().out)
    unmet = [i for i in out["issues"] if i["kind"] == "requirement_unmet"]
    # the sample has 6 pharmacies; not every postcode area has one
    assert code == 1 and not out["valid"]
    assert out["summary"]["requirement_unmet"] == len(unmet) >= 1
    for issue in unmet:
        assert 24.9 < issue["x"] < 25.0 and 60.1 < issue["y"] < 60.2  # the grids' CRS (EPSG:4326)
