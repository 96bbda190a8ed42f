"""Satellite change patches (图斑): dispatch, handling and verification (DOMAIN.md §6).

The public surface the API and the CLI call:

- :func:`read_patch_upload` + :func:`import_batch`: a vendor delivery becomes a batch of
  patches, each located in its grids and registered as a case (source ``satellite``);
  :func:`list_batches`, :func:`get_batch`, :func:`batch_figures` (per-batch counts for scoring).
- :func:`read_photo` + :func:`add_handling`: a handling record with its evidence photos.
- :func:`register_imagery`: a GeoTIFF of a batch (role ``reference``, ``before`` or ``after``).
- :func:`verify_batch`, :func:`verify_patch`: the verdict of each patch with its figures.
- :func:`list_patches`, :func:`get_patch`, :func:`render_chips`.
- :func:`score_patches`, :func:`batch_scores` with a :class:`ScoreRule`: figures per street
  and district and the satellite indicator's score (DOMAIN.md §7).
- :mod:`geogrid.satellite.mapdata` (the patch map page's data) and
  :mod:`geogrid.satellite.tiles` (XYZ tiles of the imagery, with rio-tiler).
"""

from geogrid.satellite.batches import batch_figures, get_batch, import_batch, list_batches
from geogrid.satellite.chips import render_chips
from geogrid.satellite.handling import add_handling, handling_records, photo_content
from geogrid.satellite.imagery import (
    parse_band_roles,
    register_imagery,
    register_uploaded_imagery,
)
from geogrid.satellite.metrics import ImageThresholds, VerifyRules
from geogrid.satellite.patches import STATUSES, get_patch, list_patches
from geogrid.satellite.photos import read_photo
from geogrid.satellite.scoring import ScoreRule, batch_scores, score_patches
from geogrid.satellite.upload import read_patch_upload
from geogrid.satellite.verify import verify_batch, verify_patch, verify_patches

__all__ = [
    "STATUSES",
    "ImageThresholds",
    "ScoreRule",
    "VerifyRules",
    "add_handling",
    "batch_figures",
    "batch_scores",
    "get_batch",
    "get_patch",
    "handling_records",
    "import_batch",
    "list_batches",
    "list_patches",
    "parse_band_roles",
    "photo_content",
    "read_patch_upload",
    "read_photo",
    "register_imagery",
    "register_uploaded_imagery",
    "render_chips",
    "score_patches",
    "verify_batch",
    "verify_patch",
    "verify_patches",
]
