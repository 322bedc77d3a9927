"""Content-addressed file storage: files are kept under their SHA-256, written atomically.

The services keep file metadata (which document, which kind) in their own tables and the bytes
here. The interface is small so that object storage can replace the local folder later.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@contextlib.contextmanager
def locked_directory(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (a ``.lock`` file in it) against other processes.

    For files that processes starting together create once (development keys and PKI): the
    first creates them while the others wait, then find them complete.
    """
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class StoredFile:
    """Where a stored file is and what it is."""

    sha256: str
    size: int
    key: str


class FileStore:
    """Files in a local folder, named by their SHA-256 (``ab/cd/abcd…``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> StoredFile:
        """Store ``data`` (idempotent: the same bytes are stored once) and return its address."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return StoredFile(sha256=digest, size=len(data), key=digest)

    async def put_async(self, data: bytes) -> StoredFile:
        """:meth:`put` in a thread: hashing, writing and ``fsync`` stay off the event loop."""
        return await asyncio.to_thread(self.put, data)

    async def get_async(self, key: str) -> bytes:
        """:meth:`get` in a thread: reading and checking the hash stay off the event loop."""
        return await asyncio.to_thread(self.get, key)

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; raises ``FileNotFoundError`` or ``IntegrityError``."""
        data = self._path(key).read_bytes()
        if hashlib.sha256(data).hexdigest() != key:
            raise StoredFileCorruptError(f"stored file {key} does not match its hash")
        return data

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        return self._path(key).exists()


class StoredFileCorruptError(Exception):
    """The bytes on disk no longer match the hash they were stored under."""


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """A safe ``Content-Disposition`` value (RFC 6266 / RFC 5987) for a UTF-8 file name.

    The ASCII fallback drops anything that could break the header (quotes, backslashes, control
    characters, path separators); the ``filename*`` form carries the exact Vietnamese name.
    """
    import unicodedata
    from urllib.parse import quote

    name = unicodedata.normalize("NFC", filename).replace("/", "-").replace("\\", "-")
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '\r\n"') or "file"
    ascii_name = unicodedata.normalize("NFKD", name.replace("Đ", "D").replace("đ", "d"))
    ascii_name = "".join(ch for ch in ascii_name if 32 <= ord(ch) < 127 and ch not in '"\\;') or "file"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
