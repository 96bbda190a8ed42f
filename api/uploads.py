"""Receiving uploaded files: size-limited, saved to a temporary directory always removed."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile

from geogrid.errors import Problem, TooLarge, ValidationFailed

CHUNK = 1 << 20


def safe_name(name: str | None) -> str:
    """The file's base name with anything but letters, digits, dot, dash and underscore removed."""
    base = Path((name or "upload").replace("\\", "/")).name
    cleaned = re.sub(r"[^\w.\-]", "_", base).lstrip(".")
    return cleaned or "upload"


def shown_name(upload: UploadFile) -> str:
    """The name the user gave the file (base name only), for messages."""
    return Path((upload.filename or "upload").replace("\\", "/")).name or "upload"


@contextmanager
def saved_upload(upload: UploadFile, *, max_bytes: int) -> Iterator[Path]:
    """Write ``upload`` to a temporary file and yield its path; the directory is always removed.

    Raises
    ------
    TooLarge
        When the file is larger than ``max_bytes`` (read no further than that).
    ValidationFailed
        When the file is empty.
    """
    shown = shown_name(upload)
    tmp = Path(tempfile.mkdtemp(prefix="geogrid-upload-"))
    try:
        path = tmp / safe_name(upload.filename)
        size = 0
        with path.open("wb") as out:
            while chunk := upload.file.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    message = (
                        f"File '{shown}' is larger than the limit of {max_bytes / (1 << 20):g} MB "
                        "(GEOGRID_MAX_UPLOAD_MB); split it and upload the parts."
                    )
                    raise TooLarge(message, [Problem(shown, "file_too_large", message)])
                out.write(chunk)
        if size == 0:
            message = f"File '{shown}' is empty; nothing was read."
            raise ValidationFailed(message, [Problem(shown, "empty_file", message)])
        yield path
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
