"""Raw captures: content-addressed, zstd-compressed, and delta-compressed against a
full copy of the same document's capture (that copy is the zstd dictionary).

A recheck whose page differs only by nonces and build hashes then costs a few hundred
bytes instead of a full compressed page. Every delta's base is a full copy (its hub),
so reading any capture decompresses at most two bodies; a document gets a new hub
when its deltas grow past a quarter of a full copy (it drifted from the hub). Older
databases may hold chains of deltas (up to 32 deep, before the hubs): they are read
link by link.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

import psycopg
import zstandard

_LEVEL = 9
_DELTA_LEVEL = 6  # smaller and faster deltas than level 9 on policy pages
# A delta over this share of a full copy means the document drifted from its hub.
_NEW_HUB_SHARE = 4
_HUB_COMPRESSORS = 8
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


def _hub_compressor(hub: str, body: Callable[[], bytes]) -> zstandard.ZstdCompressor:
    """A compressor with the hub's body as dictionary, kept for the next captures of the
    same document: loading a 200 KB dictionary costs more than a small delta."""
    kept: OrderedDict[str, zstandard.ZstdCompressor] | None = getattr(_compressors, "hubs", None)
    if kept is None:
        kept = _compressors.hubs = OrderedDict()
    compressor = kept.get(hub)
    if compressor is None:
        compressor = zstandard.ZstdCompressor(level=_DELTA_LEVEL, dict_data=_dictionary(body()))
        kept[hub] = compressor
        while len(kept) > _HUB_COMPRESSORS:
            kept.popitem(last=False)
    kept.move_to_end(hub)
    return compressor


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
    compression, packed, hub = "zstd", b"", None
    if previous is not None and previous != digest:
        row = conn.execute(
            "SELECT base_sha256, depth FROM captures WHERE raw_sha256 = %s", (previous,)
        ).fetchone()
        # The previous capture's hub; none when it sits deep in an old chain.
        hub = None if row is None or row[1] > 1 else (row[0] or previous)
        if hub is not None:
            packed = _hub_compressor(hub, lambda: load_capture(conn, hub, cache)).compress(body)
            compression = "zstd-delta"
    # A delta under 5% of the body beats any plain compression of HTML: skip trying one.
    if compression == "zstd" or len(packed) > len(body) // 20:
        full = _full_compressor().compress(body)
        if compression == "zstd" or len(packed) * _NEW_HUB_SHARE > len(full):
            compression, packed, hub = "zstd", full, None
    depth = 0 if hub is None else 1
    conn.execute(
        """INSERT INTO captures (raw_sha256, size, compression, body, content_type,
               base_sha256, depth)
           VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (raw_sha256) DO NOTHING""",
        (digest, len(body), compression, packed, content_type, hub, depth),
    )
    cache.put(digest, body)
    return digest
