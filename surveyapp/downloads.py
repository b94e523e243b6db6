"""File downloads: a name safe on every system, sent the way every browser understands."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote


def slug(text: str, fallback: str = "download") -> str:
    """Return ``text`` as a file name: its letters and digits (any script), runs of anything
    else made one dash, at most 100 characters; ``fallback`` when nothing is left."""
    cleaned = "".join(c if c.isalnum() else "-" for c in text)
    return "-".join(part for part in cleaned.split("-") if part)[:100] or fallback


def content_disposition(filename: str) -> str:
    """Return the ``Content-Disposition`` value that downloads ``filename`` (RFC 6266).

    HTTP headers are Latin-1, so a name such as "Łódź.pdf" goes twice: an ASCII look-alike in
    ``filename`` for old clients, and the exact name UTF-8 encoded in ``filename*``.
    """
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = ascii_name.replace('"', "").replace("\\", "")
    stem, dot, extension = ascii_name.rpartition(".")
    if dot and not stem.strip("-"):
        ascii_name = f"download.{extension}"
    if ascii_name == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
