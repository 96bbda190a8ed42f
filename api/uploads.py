"""Receiving uploaded files: size-limited, saved to a temporary directory always removed."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile

from geogrid.errors import ValidationFailed

CHUNK = 1 << 20


def safe_name(name: str | None) -> str:
    """The file's base name with anything but letters, digits, dot, dash and underscore removed."""
    base = Path((name or "upload").replace("\\", "/")).name
    cleaned = re.sub(r"[^\w.\-]", "_", base).lstrip(".")
    return cleaned or "upload"


@contextmanager
def saved_upload(upload: UploadFile, *, max_bytes: int) -> Iterator[Path]:
    """Write ``upload`` to a temporary file (refusing more than ``max_bytes``) and yield it."""
    tmp = Path(tempfile.mkdtemp(prefix="geogrid-upload-"))
    try:
        path = tmp / safe_name(upload.filename)
        size = 0
        with path.open("wb") as out:
            while chunk := upload.file.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise ValidationFailed(
                        f"The file is larger than the limit of {max_bytes // (1 << 20)} MB."
                    )
                out.write(chunk)
        if size == 0:
            raise ValidationFailed("The uploaded file is empty.")
        yield path
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
