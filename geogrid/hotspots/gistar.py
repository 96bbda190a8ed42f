"""Getis-Ord Gi* hotspots (热点) and cold spots (冷点) of case counts over unit grids.

Gi* compares the cases in and around each grid (the grid and its neighbours) with what the
whole district would give if cases fell anywhere alike (Getis & Ord 1992, Ord & Getis 1995).
A large positive z-score is a hot spot, a large negative one a cold spot. Grids are classed as
ArcGIS's *Hot Spot Analysis* does: the confidence bin comes from the p-value (≤ 0.01 → 99 %,
≤ 0.05 → 95 %, ≤ 0.10 → 90 %) and the side from the sign of z.

p-values: with ``permutations=0`` the analytic two-sided p of the normal approximation,
``2 × (1 − Φ(|z|))``; with permutations, esda's pseudo p-value ``p_sim`` (conditional
randomisation, folded: the share of random maps at least as extreme on the observed side).

False discovery rate (``fdr=True``): testing 10,000 grids at once makes some "significant" by
chance. Benjamini–Hochberg (``esda.fdr``) is applied separately at each confidence level: a grid
is 99 % significant when p ≤ fdr(p, 0.01), 95 % when p ≤ fdr(p, 0.05), 90 % when p ≤ fdr(p, 0.10)
— the same per-level use ArcGIS makes of its FDR correction.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Final, Literal

import esda
import geopandas as gpd
import numpy as np
import numpy.typing as npt
from scipy import stats

from geogrid.errors import InvalidParameter
from geogrid.hotspots.request import MAX_PERMUTATIONS, VALUES, Value, WeightsKind
from geogrid.hotspots.weights import WEIGHTS_CACHE, GridWeights, WeightsCache, cached_weights

Level = Literal[99, 95, 90]
LEVELS: Final[tuple[tuple[Level, float], ...]] = ((99, 0.01), (95, 0.05), (90, 0.10))
"""Confidence levels (%) and their significance levels α."""

CLASSES: Final[tuple[str, ...]] = (
    "hot_99",
    "hot_95",
    "hot_90",
    "not_significant",
    "cold_90",
    "cold_95",
    "cold_99",
)
CLASS_LABELS: Final[dict[str, str]] = {
    "hot_99": "热点 99% 置信",
    "hot_95": "热点 95% 置信",
    "hot_90": "热点 90% 置信",
    "not_significant": "不显著",
    "cold_90": "冷点 90% 置信",
    "cold_95": "冷点 95% 置信",
    "cold_99": "冷点 99% 置信",
}
VALUE_COLUMNS: Final[dict[Value, str]] = {"count": "cases", "density": "density"}
DEFAULT_SEED: Final = 12345
"""Seed of the permutations: the same request gives the same pseudo p-values."""


@dataclass(frozen=True)
class Note:
    """Something a reader of the result must know.

    ``code`` is stable (``too_few_grids``, ``constant_values``, ``islands``, ``undefined``,
    ``k_lowered``),
    ``message`` an English sentence, ``count`` the number it is about (grids, k) for pages that
    word it in another language.
    """

    code: str
    message: str
    count: int = 0


@dataclass(frozen=True, eq=False)
class HotspotResult:
    """Gi* of every grid, with what it was computed from.

    Attributes
    ----------
    grids
        One row per grid (input order): ``code``, ``street_code``, ``cases``, ``density``,
        ``z`` (Gi* z-score, NaN for an island or undefined Gi*), ``p`` (NaN likewise),
        ``class`` (:data:`CLASSES`), ``label`` (Chinese, :data:`CLASS_LABELS`), ``geometry``.
    parameters
        The analysis as run: value, weights (with the distance band or k used), permutations,
        seed, fdr, alpha, p_value (``normal`` or ``permutation``).
    cutoffs
        p-value cut-off per confidence level actually applied (FDR-adjusted when ``fdr``).
    notes
        Conditions met on the way (islands, undefined Gi*, adjusted k).
    unassigned
        Cases of the period counted in no current grid (``grid_case_counts``).
    """

    grids: gpd.GeoDataFrame
    parameters: dict[str, Any]
    cutoffs: dict[int, float]
    notes: tuple[Note, ...] = ()
    unassigned: int = 0

    @property
    def summary(self) -> dict[str, int]:
        """Number of grids per class, every class present (0 when none)."""
        counts = self.grids["class"].value_counts()
        return {c: int(counts.get(c, 0)) for c in CLASSES}


def significance_cutoffs(
    p: npt.NDArray[np.float64], *, fdr: bool = False, alpha: float = 0.10
) -> dict[int, float]:
    """The p-value cut-off of each confidence level down to ``alpha``.

    Parameters
    ----------
    p
        p-values of the grids (NaN ones are left out of the FDR).
    fdr
        Apply Benjamini–Hochberg (``esda.fdr``) at each level's α.
    alpha
        Weakest significance reported: 0.10 (90, 95, 99 %), 0.05 (95, 99 %) or 0.01 (99 %).

    Returns
    -------
    dict
        Confidence level (99, 95, 90) → largest p still significant at it.
    """
    if alpha not in (a for _, a in LEVELS):
        raise InvalidParameter("Parameter 'alpha' must be 0.10, 0.05 or 0.01.")
    valid = p[np.isfinite(p)]
    cutoffs: dict[int, float] = {}
    for level, level_alpha in LEVELS:
        if level_alpha <= alpha + 1e-12:
            cut = float(esda.fdr(valid, level_alpha)) if fdr and len(valid) else level_alpha
            cutoffs[level] = cut
    return cutoffs


def classify(
    z: npt.NDArray[np.float64], p: npt.NDArray[np.float64], cutoffs: dict[int, float]
) -> npt.NDArray[np.object_]:
    """The class of each grid from its z-score and p-value (ArcGIS convention).

    The highest confidence level whose cut-off p reaches is the bin; a positive z makes it hot,
    a negative z cold. NaN z or p, z = 0, or p above every cut-off: ``not_significant``.
    """
    z, p = np.asarray(z, dtype=float), np.asarray(p, dtype=float)
    out = np.full(len(z), "not_significant", dtype=object)
    valid = np.isfinite(z) & np.isfinite(p)
    for level, cut in sorted(cutoffs.items()):  # 90, then 95, then 99: stronger bins win
        significant = valid & (p <= cut)
        out[significant & (z > 0)] = f"hot_{level}"
        out[significant & (z < 0)] = f"cold_{level}"
    return out


def _statistic(
    y: npt.NDArray[np.float64], weights: GridWeights, permutations: int, seed: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(z, p) of esda's Gi* (binary weights, star) for values ``y``."""
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # esda announces a two-sided default for a future release; p_sim here is documented
        # as today's folded pseudo p-value. A grid whose neighbourhood is every grid has no
        # variance: its z is NaN (noted by the caller), not a warning.
        warnings.filterwarnings("ignore", "The alternative hypothesis", DeprecationWarning)
        g = esda.G_Local(
            y,
            weights.graph,
            transform="B",
            star=True,
            permutations=permutations,
            seed=seed,
            n_jobs=1,
            keep_simulations=False,
        )
    z = np.asarray(g.Zs, dtype=float)
    two_sided_normal = 2.0 * stats.norm.sf(np.abs(z))
    p = np.asarray(g.p_sim, dtype=float) if permutations else two_sided_normal
    return z, p


def gi_star(
    gdf: gpd.GeoDataFrame,
    *,
    value: Value = "count",
    weights: WeightsKind = "queen",
    distance_m: float | None = None,
    k: int = 8,
    permutations: int = 0,
    seed: int = DEFAULT_SEED,
    fdr: bool = False,
    alpha: float = 0.10,
    cache: WeightsCache | None = WEIGHTS_CACHE,
) -> HotspotResult:
    """Getis-Ord Gi* hot and cold spots of case counts over unit grids (DOMAIN.md §4).

    Parameters
    ----------
    gdf
        Grids as :func:`~geogrid.hotspots.counts.grid_case_counts` returns them: ``code``,
        ``cases`` and/or ``density`` (cases per km²), polygon ``geometry`` (any CRS), optionally
        ``street_code``.
    value
        Analyse the case ``count`` or the ``density``.
    weights
        ``queen`` / ``rook`` contiguity of the polygons, a ``distance`` band between centroids
        (metres, in a local transverse Mercator) or the ``knn`` nearest centroids.
    distance_m
        Band of ``distance`` weights in metres; None: the smallest band giving every grid a
        neighbour.
    k
        Neighbours of ``knn`` weights (lowered to n - 1 for small territories, with a note).
    permutations
        0: analytic normal p-values; otherwise esda's pseudo p-values from this many random
        permutations (at most 9,999), drawn with ``seed``.
    fdr
        Control the false discovery rate at each confidence level (see module docstring).
    alpha
        Weakest significance reported: 0.10, 0.05 or 0.01.
    cache
        Where weights are kept between calls (default: the process-wide cache); None builds
        them every time.

    Returns
    -------
    HotspotResult
        Per grid z, p, class and label. A grid without neighbours (an island) and every grid
        when Gi* is undefined (all values equal, e.g. no case at all; fewer than 3 grids) is
        ``not_significant`` with null z and p, and a note says why.
    """
    if value not in VALUES:
        raise InvalidParameter(f"Parameter 'value' must be one of {', '.join(VALUES)}.")
    if not 0 <= permutations <= MAX_PERMUTATIONS:
        raise InvalidParameter(
            f"Parameter 'permutations' must lie between 0 and {MAX_PERMUTATIONS}."
        )
    column = VALUE_COLUMNS[value]
    if column not in gdf.columns:
        raise InvalidParameter(f"The grids have no '{column}' column to analyse.")
    grids = gdf.reset_index(drop=True)
    n = len(grids)
    y = np.asarray(grids[column], dtype=float)
    z = np.full(n, np.nan)
    p = np.full(n, np.nan)
    notes: list[Note] = []
    parameters: dict[str, Any] = {
        "value": value,
        "weights": weights,
        "distance_m": None,
        "k": None,
        "permutations": permutations,
        "seed": seed if permutations else None,
        "fdr": fdr,
        "alpha": alpha,
        "p_value": "permutation" if permutations else "normal",
    }
    if not np.isfinite(y).all():
        raise InvalidParameter(f"Column '{column}' holds missing or infinite values.")
    if n < 3:
        notes.append(Note("too_few_grids", f"Gi* needs at least 3 grids; there are {n}.", n))
    elif np.ptp(y) == 0:
        notes.append(
            Note(
                "constant_values",
                f"Every grid has the same {value} ({y[0]:g}): Gi* is undefined, so no grid is "
                "a hot or cold spot.",
                n,
            )
        )
    else:
        w = cached_weights(grids, weights, distance_m=distance_m, k=k, cache=cache)
        parameters.update(distance_m=w.distance_m, k=w.k)
        if w.k is not None and w.k < k:
            notes.append(
                Note("k_lowered", f"k lowered from {k} to {w.k}: there are {n} grids.", w.k)
            )
        z, p = _statistic(y, w, permutations, seed)
        undefined = ~np.isfinite(z) & ~w.islands
        p[undefined] = np.nan  # a pseudo p-value is drawn even where z is undefined
        if undefined.any():
            notes.append(
                Note(
                    "undefined",
                    f"{int(undefined.sum())} grid(s) have every grid in their neighbourhood: "
                    "Gi* is undefined there (not significant, z and p null).",
                    int(undefined.sum()),
                )
            )
        if w.islands.any():
            z[w.islands], p[w.islands] = np.nan, np.nan
            notes.append(
                Note(
                    "islands",
                    f"{int(w.islands.sum())} grid(s) have no neighbour under {weights} weights "
                    "(islands): not significant, z and p null.",
                    int(w.islands.sum()),
                )
            )
    cutoffs = significance_cutoffs(p, fdr=fdr, alpha=alpha)
    classes = classify(z, p, cutoffs)
    out = grids.assign(z=z, p=p, **{"class": classes, "label": [CLASS_LABELS[c] for c in classes]})
    return HotspotResult(
        grids=out,
        parameters=parameters,
        cutoffs=cutoffs,
        notes=tuple(notes),
        unassigned=int(gdf.attrs.get("unassigned", 0)),
    )
