"""Evidence files: type sniffed from the magic bytes, size capped, stored by SHA-256 under a safe name."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import anyio

from report_api.submissions.errors import EvidenceTooLargeError, EvidenceTypeError

_CHUNK = 64 * 1024
_MAGIC: list[tuple[bytes, str]] = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
]
EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}


class Upload(Protocol):
    """An uploaded file as the web framework hands it over (read in chunks)."""

    filename: str | None

    async def read(self, size: int = -1) -> bytes: ...


def sniff(head: bytes) -> str | None:
    """The media type of a file from its first bytes, for the accepted types only."""
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    return None


def safe_filename(name: str | None, media_type: str) -> str:
    """A display name without paths, control or bidi characters, ending in the sniffed type's extension."""
    base = unicodedata.normalize("NFC", os.path.basename((name or "").replace("\\", "/")))
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C")
    base = base.strip(" .")[:150] or "minh-chung"
    stem = re.sub(r"\.(pdf|png|jpe?g)$", "", base, flags=re.IGNORECASE) or "minh-chung"
    return stem + EXTENSIONS[media_type]


def content_disposition(filename: str) -> str:
    """RFC 6266 ``attachment`` with an ASCII fallback and the UTF-8 ``filename*`` (RFC 8187)."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", ascii_name).strip() or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def store(upload: Upload, folder: Path, max_bytes: int) -> tuple[str, str, int, str]:
    """Stream ``upload`` to ``folder``; returns (media type, sha256, size, storage key).

    Refuses more than ``max_bytes`` (413) and anything that is not PDF, PNG or JPEG by its content
    (415); nothing is left on disk then.
    """
    root = anyio.Path(folder)
    await root.mkdir(parents=True, exist_ok=True)
    key = uuid.uuid4().hex
    temporary = root / f"{key}.part"
    digest = hashlib.sha256()
    size = 0
    media_type: str | None = None
    try:
        async with await anyio.open_file(temporary, "wb") as out:
            while chunk := await upload.read(_CHUNK):
                if media_type is None:
                    media_type = sniff(chunk)
                    if media_type is None:
                        raise EvidenceTypeError("the file content is not PDF, PNG or JPEG")
                size += len(chunk)
                if size > max_bytes:
                    raise EvidenceTooLargeError(f"the file is larger than {max_bytes} bytes", max_bytes=max_bytes)
                digest.update(chunk)
                await out.write(chunk)
        if media_type is None or size == 0:
            raise EvidenceTypeError("the file is empty")
        sha = digest.hexdigest()
        storage_key = f"{sha[:2]}/{key}"
        await (root / sha[:2]).mkdir(exist_ok=True)
        await temporary.replace(root / storage_key)
    except BaseException:
        await temporary.unlink(missing_ok=True)
        raise
    return media_type, sha, size, storage_key


def path_of(folder: Path, storage_key: str) -> Path:
    """The stored file of ``storage_key`` (which is always server-generated)."""
    if not re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{32}", storage_key):
        raise ValueError("invalid storage key")
    return folder / storage_key
