"""Raw captures: content-addressed, zstd-compressed, and delta-compressed against the
same document's previous capture (that capture is the zstd dictionary).

A recheck whose page differs only by nonces and build hashes then costs a few hundred
bytes instead of a full compressed page. Chains are cut every ``MAX_DEPTH`` captures
with a full copy, which bounds the work of reading any one capture.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

import psycopg
import zstandard

MAX_DEPTH = 32
_LEVEL = 9
# A zstd compressor is not thread-safe: one per thread.
_compressors = threading.local()


def _full_compressor() -> zstandard.ZstdCompressor:
    compressor = getattr(_compressors, "full", None)
    if compressor is None:
        compressor = _compressors.full = zstandard.ZstdCompressor(level=_LEVEL)
    return compressor


class CaptureCache:
    """Recently read or written bodies, so delta chains are not unpacked again (shared by
    the store pipeline's database threads)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> bytes | None:
        with self._lock:
            body = self._items.get(digest)
            if body is not None:
                self._items.move_to_end(digest)
            return body

    def put(self, digest: str, body: bytes) -> None:
        with self._lock:
            self._items[digest] = body
            self._items.move_to_end(digest)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


_cache = CaptureCache()


def _dictionary(base: bytes) -> zstandard.ZstdCompressionDict:
    return zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


def unpack(body: bytes, compression: str, base: bytes | None = None) -> bytes:
    if compression == "none":
        return bytes(body)
    if compression == "zstd":
        return zstandard.ZstdDecompressor().decompress(body)
    if compression == "zstd-delta" and base is not None:
        return zstandard.ZstdDecompressor(dict_data=_dictionary(base)).decompress(body)
    raise ValueError(f"cannot unpack a {compression} capture")


def load_capture(conn: psycopg.Connection, digest: str, cache: CaptureCache = _cache) -> bytes:
    """The raw bytes of a stored capture (following its delta chain)."""
    found = cache.get(digest)
    if found is not None:
        return found
    chain: list[tuple[str, bytes, str]] = []
    current: str | None = digest
    while current is not None:
        known = cache.get(current)
        if known is not None:
            break
        row = conn.execute(
            "SELECT body, compression, base_sha256 FROM captures WHERE raw_sha256 = %s",
            (current,),
        ).fetchone()
        if row is None:
            raise LookupError(f"no stored capture {current}")
        chain.append((current, row[0], row[1]))
        current = row[2]
    base = cache.get(current) if current is not None else None
    for name, body, compression in reversed(chain):
        base = unpack(body, compression, base)
        cache.put(name, base)
    assert base is not None
    return base


def store_capture(
    conn: psycopg.Connection,
    body: bytes,
    content_type: str,
    find_previous: Callable[[], str | None],
    cache: CaptureCache = _cache,
    digest: str | None = None,
) -> str:
    """Store ``body`` once; delta-compressed against the capture ``find_previous`` names
    (asked only when the body is new) when there is one."""
    digest = digest or hashlib.sha256(body).hexdigest()
    if conn.execute("SELECT 1 FROM captures WHERE raw_sha256 = %s", (digest,)).fetchone():
        cache.put(digest, body)  # most likely the base of the document's next delta
        return digest
    previous = find_previous()
    compression, packed, base, depth = "zstd", b"", None, 0
    if previous is not None and previous != digest:
        row = conn.execute(
            "SELECT depth FROM captures WHERE raw_sha256 = %s", (previous,)
        ).fetchone()
        if row is not None and row[0] + 1 < MAX_DEPTH:
            base_body = load_capture(conn, previous, cache)
            packed = zstandard.ZstdCompressor(
                level=_LEVEL, dict_data=_dictionary(base_body)
            ).compress(body)
            compression, base, depth = "zstd-delta", previous, row[0] + 1
    # A delta under 5% of the body beats any plain compression of HTML: skip trying one.
    if compression == "zstd" or len(packed) > len(body) // 20:
        full = _full_compressor().compress(body)
        if compression == "zstd" or len(full) <= len(packed):
            compression, packed, base, depth = "zstd", full, None, 0
    conn.execute(
        """INSERT INTO captures (raw_sha256, size, compression, body, content_type,
               base_sha256, depth)
           VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (raw_sha256) DO NOTHING""",
        (digest, len(body), compression, packed, content_type, base, depth),
    )
    cache.put(digest, body)
    return digest
