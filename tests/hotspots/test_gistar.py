"""Gi* against esda run directly, class binning, undefined Gi*, islands, FDR, the weights cache."""

from __future__ import annotations

import json
import warnings

import esda
import numpy as np
import pytest
from libpysal.graph import Graph
from scipy import stats

from geogrid.errors import InvalidParameter
from geogrid.hotspots import (
    CLASS_LABELS,
    CLASSES,
    WeightsCache,
    build_weights,
    classify,
    gi_star,
    hotspots_geojson,
    significance_cutoffs,
)
from geogrid.hotspots.weights import metric_centroids
from tests.hotspots import SIZE, corner_cluster, lattice

SW, NE = 0, 24
"""Positions of the south-west and north-east corner squares of the 5 × 5 lattice."""


def _esda(y: np.ndarray, graph: Graph, permutations: int = 0, seed: int = 1) -> esda.G_Local:
    return esda.G_Local(
        y, graph, transform="B", star=True, permutations=permutations, seed=seed, n_jobs=1
    )


@pytest.mark.parametrize("rook", [False, True], ids=["queen", "rook"])
def test_z_and_p_equal_esda_on_the_same_contiguity(rook: bool) -> None:
    gdf = lattice(corner_cluster())
    expected = _esda(gdf["cases"].to_numpy(float), Graph.build_contiguity(gdf, rook=rook))

    result = gi_star(gdf, weights="rook" if rook else "queen", cache=None)

    np.testing.assert_allclose(result.grids["z"], expected.Zs, rtol=0, atol=1e-9)
    two_sided = 2 * stats.norm.sf(np.abs(expected.Zs))
    np.testing.assert_allclose(result.grids["p"], two_sided, rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.grids["p"], 2 * expected.p_norm, rtol=0, atol=1e-9)


def test_distance_band_and_knn_equal_esda_on_metric_centroids() -> None:
    gdf = lattice(corner_cluster())
    y = gdf["cases"].to_numpy(float)
    xy = np.column_stack([gdf.centroid.x, gdf.centroid.y])  # EPSG:4543 metres
    # 150 m: the 8 surrounding squares (diagonals at 141 m), as queen contiguity.
    band = _esda(y, Graph.build_distance_band(xy, 150.0, binary=True))
    # On a lattice, nearest neighbours tie: take the centroids in the projection gi_star uses.
    knn = _esda(y, Graph.build_knn(metric_centroids(gdf), 4))

    by_band = gi_star(gdf, weights="distance", distance_m=150.0, cache=None)
    by_knn = gi_star(gdf, weights="knn", k=4, cache=None)

    np.testing.assert_allclose(by_band.grids["z"], band.Zs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(by_knn.grids["z"], knn.Zs, rtol=0, atol=1e-9)
    assert by_band.parameters["distance_m"] == 150.0 and by_knn.parameters["k"] == 4


def test_default_distance_band_gives_every_grid_a_neighbour() -> None:
    result = gi_star(lattice(corner_cluster()), weights="distance", cache=None)
    # Nearest centroids are 100 m apart (a few mm more in the local projection).
    assert result.parameters["distance_m"] == pytest.approx(SIZE, abs=0.05)
    assert result.notes == ()


@pytest.mark.filterwarnings("ignore:The alternative hypothesis:DeprecationWarning")
def test_permutation_p_values_are_esdas_pseudo_p_with_the_seed() -> None:
    gdf = lattice(corner_cluster())
    graph = Graph.build_contiguity(gdf, rook=False)
    expected = _esda(gdf["cases"].to_numpy(float), graph, permutations=99, seed=7)

    result = gi_star(gdf, permutations=99, seed=7, cache=None)

    np.testing.assert_allclose(result.grids["p"], expected.p_sim, rtol=0, atol=1e-9)
    assert result.parameters["p_value"] == "permutation" and result.parameters["seed"] == 7
    again = gi_star(gdf, permutations=99, seed=7, cache=None)
    np.testing.assert_array_equal(again.grids["p"], result.grids["p"])


def test_a_corner_cluster_is_hot_and_the_opposite_corner_is_not() -> None:
    result = gi_star(lattice(corner_cluster()), cache=None)
    classes = list(result.grids["class"])

    assert classes[SW] in ("hot_95", "hot_99")
    assert not classes[NE].startswith("hot")
    assert result.grids["z"][SW] > 1.96
    assert result.grids["label"][SW] == CLASS_LABELS[classes[SW]]
    assert sum(result.summary.values()) == 25
    assert list(result.summary) == list(CLASSES)


def test_density_is_analysed_when_asked() -> None:
    gdf = lattice(corner_cluster())
    gdf.loc[NE, "density"] = 10_000.0  # one dense grid, its count unchanged
    by_count = gi_star(gdf, cache=None)
    by_density = gi_star(gdf, value="density", cache=None)
    assert by_density.grids["z"][NE] > by_count.grids["z"][NE]


@pytest.mark.parametrize(
    ("z", "p", "expected"),
    [
        (3.0, 0.0027, "hot_99"),
        (2.0, 0.0455, "hot_95"),
        (1.7, 0.0891, "hot_90"),
        (1.5, 0.1336, "not_significant"),
        (-1.7, 0.0891, "cold_90"),
        (-2.0, 0.0455, "cold_95"),
        (-3.0, 0.0027, "cold_99"),
        (2.0, 0.01, "hot_99"),  # a cut-off itself is significant
        (0.0, 0.001, "not_significant"),  # no side
        (float("nan"), float("nan"), "not_significant"),
    ],
)
def test_class_bins_follow_the_arcgis_convention(z: float, p: float, expected: str) -> None:
    cutoffs = significance_cutoffs(np.array([p]))
    assert classify(np.array([z]), np.array([p]), cutoffs)[0] == expected


def test_alpha_drops_the_weaker_bins() -> None:
    p = np.array([0.08, 0.03])
    assert significance_cutoffs(p, alpha=0.05) == {99: 0.01, 95: 0.05}
    assert list(classify(np.array([1.8, 2.2]), p, {99: 0.01, 95: 0.05})) == [
        "not_significant",
        "hot_95",
    ]
    with pytest.raises(InvalidParameter):
        significance_cutoffs(p, alpha=0.2)


def test_fdr_makes_a_borderline_grid_not_significant() -> None:
    # Benjamini–Hochberg at 0.05 over 10 tests: the k-th smallest p needs p <= k × 0.005.
    p = np.array([0.001, 0.04, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99])
    z = np.full(10, 2.5)
    plain = classify(z, p, significance_cutoffs(p))
    corrected_cutoffs = significance_cutoffs(p, fdr=True)
    corrected = classify(z, p, corrected_cutoffs)

    assert plain[1] == "hot_95" and corrected[1] == "not_significant"
    assert corrected[0] == "hot_99"
    assert corrected_cutoffs[95] == pytest.approx(esda.fdr(p, 0.05))
    assert corrected_cutoffs[99] <= corrected_cutoffs[95] <= corrected_cutoffs[90]


def test_fdr_on_the_lattice_drops_a_borderline_grid_and_adds_none() -> None:
    values = corner_cluster()
    values[18] = 10  # a busier grid in the east makes two grids between weakly cold
    gdf = lattice(values)
    plain = gi_star(gdf, cache=None)
    corrected = gi_star(gdf, fdr=True, cache=None)

    assert plain.grids["class"][8] == "cold_90" and 0.05 < plain.grids["p"][8] < 0.10
    assert corrected.grids["class"][8] == "not_significant"
    assert corrected.cutoffs[90] < plain.grids["p"][8]
    significant = corrected.grids["class"] != "not_significant"
    assert 0 < significant.sum() < (plain.grids["class"] != "not_significant").sum()
    sides = plain.grids["class"][significant].str[:3]
    assert (sides == corrected.grids["class"][significant].str[:3]).all()
    assert (corrected.grids["p"][significant] <= corrected.cutoffs[90]).all()
    assert corrected.parameters["fdr"] is True


@pytest.mark.parametrize("value", [0, 3])
def test_constant_values_give_no_hotspot_and_a_note(value: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # esda would divide by zero
        result = gi_star(lattice([value] * 25), cache=None)
    assert set(result.grids["class"]) == {"not_significant"}
    assert result.grids["z"].isna().all() and result.grids["p"].isna().all()
    assert [n.code for n in result.notes] == ["constant_values"]


def test_too_few_grids_give_no_hotspot() -> None:
    result = gi_star(lattice([1, 5, 9, 2], side=2).iloc[:2], cache=None)
    assert set(result.grids["class"]) == {"not_significant"}
    assert result.notes[0].code == "too_few_grids"


def test_an_island_is_not_significant_with_null_z_and_the_others_match_esda() -> None:
    gdf = lattice([*corner_cluster(), 40], extra=[(2000.0, 2000.0)])
    y = gdf["cases"].to_numpy(float)
    expected = _esda(y, Graph.build_contiguity(gdf, rook=False))

    result = gi_star(gdf, cache=None)

    assert result.grids["class"].iloc[-1] == "not_significant"
    assert np.isnan(result.grids["z"].iloc[-1]) and np.isnan(result.grids["p"].iloc[-1])
    np.testing.assert_allclose(result.grids["z"][:25], expected.Zs[:25], rtol=0, atol=1e-9)
    assert [(n.code, n.count) for n in result.notes] == [("islands", 1)]
    feature = hotspots_geojson(result)["features"][-1]
    assert feature["properties"]["z"] is None and feature["properties"]["p"] is None


def test_knn_k_is_lowered_for_a_small_territory() -> None:
    result = gi_star(lattice([1, 5, 9, 2], side=2), weights="knn", k=8, cache=None)
    assert result.parameters["k"] == 3
    # Every grid then has all four in its neighbourhood: Gi* has no variance to test.
    assert [n.code for n in result.notes] == ["k_lowered", "undefined"]
    assert set(result.grids["class"]) == {"not_significant"}


def test_weights_are_built_once_per_grid_set_and_kind() -> None:
    cache = WeightsCache()
    gdf = lattice(corner_cluster())

    first = gi_star(gdf, cache=cache)
    gdf2 = gdf.assign(cases=gdf["cases"][::-1].to_numpy())  # same grids, other counts
    gi_star(gdf2, cache=cache)
    assert cache.builds == 1
    np.testing.assert_array_equal(gi_star(gdf, cache=cache).grids["z"], first.grids["z"])
    assert cache.builds == 1

    gi_star(gdf, weights="rook", cache=cache)
    gi_star(gdf, weights="knn", k=4, cache=cache)
    gi_star(gdf, weights="knn", k=5, cache=cache)
    assert cache.builds == 4
    gi_star(gdf, weights="rook", cache=cache)
    assert cache.builds == 4


def test_the_layer_version_keys_the_cache_and_other_rows_rebuild() -> None:
    cache = WeightsCache()
    gdf = lattice(corner_cluster())
    gdf.attrs["grids_version"] = ("db", 7)
    gi_star(gdf, cache=cache)
    gi_star(gdf.copy(), cache=cache)
    assert cache.builds == 1
    # A frame derived from counted grids keeps their attrs but holds other rows.
    part = gdf.iloc[:20]
    assert part.attrs["grids_version"] == ("db", 7)
    gi_star(part, cache=cache)
    assert cache.builds == 2
    gdf.attrs["grids_version"] = ("db", 8)
    gi_star(gdf, cache=cache)
    assert cache.builds == 3


def test_weights_report_islands_and_include_each_grid_itself() -> None:
    gdf = lattice([*corner_cluster(), 1], extra=[(3000.0, 0.0)])
    weights = build_weights(gdf, "queen")
    assert weights.islands.tolist() == [False] * 25 + [True]
    assert weights.graph.adjacency.loc[(0, 0)] == 1.0
    assert weights.graph.cardinalities[0] == 4  # itself and 3 neighbours in the corner


def test_geojson_has_one_feature_per_grid_with_the_properties() -> None:
    result = gi_star(lattice(corner_cluster()).to_crs("EPSG:4326"), cache=None)
    doc = hotspots_geojson(result)
    text = json.dumps(doc, allow_nan=False)  # no NaN reaches JSON
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 25
    props = doc["features"][SW]["properties"]
    assert set(props) == {"code", "street_code", "cases", "density", "z", "p", "class", "label"}
    assert props["code"] == "530114001001001" and props["cases"] == 20
    assert props["density"] == 2000.0
    assert doc["summary"] == result.summary and doc["parameters"]["weights"] == "queen"
    assert '"type": "Polygon"' in text
    lon, lat = doc["features"][SW]["geometry"]["coordinates"][0][0]
    assert 102 < lon < 104 and 24 < lat < 26
