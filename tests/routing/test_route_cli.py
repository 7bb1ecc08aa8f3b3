"""`gridkit route --mode streets` with several persons and excluded classes, end to end."""

import re

from gridkit.cli.main import main
from gridkit.io.files import list_layers, read_layer, write_layers


def test_route_streets_persons_and_classes(sample_file, tmp_path, capsys):
    v = read_layer(f"{sample_file}:villages")
    roads = read_layer(f"{sample_file}:roads")
    grids = write_layers(
        {"grids": v.assign(grid_id=v["code"].astype(str)).iloc[[0]]}, tmp_path / "g.gpkg"
    )
    classes = sorted(set(roads["road_class"].dropna()) - {"footway"})
    out = tmp_path / "team.gpkg"
    code = main(["route", "--mode", "streets", "--roads", f"{sample_file}:roads", "--grids",
                 str(grids), "--persons", "2", "--patrol-classes", ",".join(classes),
                 "-o", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    assert set(list_layers(out)) >= {"routes", "route_steps"}
    routes = read_layer(f"{out}:routes")
    for col in ("grid_id", "street_m", "length_m", "deadhead_m", "lower_bound_m", "gap",
                "method", "connector_m", "excluded_m", "person", "minutes"):
        assert col in routes.columns
    assert sorted(routes["person"]) == [1, 2]
    assert (routes["excluded_m"] > 0).all()  # the village's footways are left off
    steps = read_layer(f"{out}:route_steps")
    assert not steps.loc[~steps["deadhead"].astype(bool), "edge_id"].duplicated().any()
    gpx = out.with_suffix(".gpx").read_text()
    assert len(re.findall("<trk>", gpx)) == 2 and "person 2" in gpx
    assert "wrote" in text


def test_route_persons_must_be_positive(sample_file, tmp_path, capsys):
    code = main(["route", "--roads", f"{sample_file}:roads", "--grids", f"{sample_file}:villages",
                 "--grid-id", "code", "--persons", "0", "-o", str(tmp_path / "r.gpkg")])
    err = capsys.readouterr().err
    assert code == 2 and "--persons" in err and err.count("\n") == 1
