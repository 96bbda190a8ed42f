"""Answering with a file the core writes: a temporary directory removed once it is sent."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


def download(file_name: str, write: Callable[[Path], object], media_type: str) -> FileResponse:
    """Call ``write(path)`` on a fresh temporary path and send the file as ``file_name``."""
    tmp = Path(tempfile.mkdtemp(prefix="geogrid-download-"))
    path = tmp / file_name
    try:
        write(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=media_type,
        filename=file_name,
        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True),
    )


def csv_file(file_name: str, lines: Iterable[str]) -> Response:
    """CSV ``lines`` (as the core writes them, with a BOM) sent as the attachment ``file_name``."""
    return Response(
        "".join(lines).encode(),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{file_name}"'},
    )
