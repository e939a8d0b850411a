"""Raw captures: content-addressed, zstd-compressed, and delta-compressed against the
same document's previous capture (that capture is the zstd dictionary).

A recheck whose page differs only by nonces and build hashes then costs a hundred
bytes or so instead of a full compressed page. Chains are at most ``MAX_DEPTH`` long,
which bounds the work of reading any one capture. A chain starts from a checkpoint: a
delta against the full copy its predecessor chain started from (the hub), so a
document has one full copy until it drifts from it (a checkpoint over a quarter of a
full copy is stored as a new full copy instead).
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
# Deltas of consecutive demo captures (120-570 KB pages): level 6 takes about half
# the time of level 9 for 0-10% more bytes; level 3 is faster still but up to 70%
# larger on pages with many nonces; levels 1-2 miss the long matches altogether.
_DELTA_LEVEL = 6
# A checkpoint over this share of a full copy means the document drifted from its hub.
_NEW_HUB_SHARE = 4
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


def _chain_root(conn: psycopg.Connection, digest: str) -> str:
    """The full copy a capture's delta chain starts from."""
    row = conn.execute(
        """WITH RECURSIVE chain (raw_sha256, base_sha256) AS (
               SELECT raw_sha256, base_sha256 FROM captures WHERE raw_sha256 = %s
               UNION ALL
               SELECT c.raw_sha256, c.base_sha256
               FROM captures c JOIN chain ON c.raw_sha256 = chain.base_sha256)
           SELECT raw_sha256 FROM chain WHERE base_sha256 IS NULL""",
        (digest,),
    ).fetchone()
    if row is None:
        raise LookupError(f"the delta chain of capture {digest} has no full copy")
    return str(row[0])


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
    row = None
    if previous is not None and previous != digest:
        row = conn.execute(
            "SELECT depth FROM captures WHERE raw_sha256 = %s", (previous,)
        ).fetchone()
    checkpoint = row is not None and row[0] + 1 >= MAX_DEPTH
    if previous is not None and row is not None:
        # A full chain is not extended: the next one starts against its full copy.
        base = _chain_root(conn, previous) if checkpoint else previous
        packed = zstandard.ZstdCompressor(
            level=_DELTA_LEVEL, dict_data=_dictionary(load_capture(conn, base, cache))
        ).compress(body)
        compression, depth = "zstd-delta", 1 if checkpoint else row[0] + 1
    # A delta under 5% of the body beats any plain compression of HTML: skip trying one.
    if compression == "zstd" or len(packed) > len(body) // 20:
        full = _full_compressor().compress(body)
        share = _NEW_HUB_SHARE if checkpoint else 1
        if compression == "zstd" or len(packed) * share > len(full):
            compression, packed, base, depth = "zstd", full, None, 0
    conn.execute(
        """INSERT INTO captures (raw_sha256, size, compression, body, content_type,
               base_sha256, depth)
           VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (raw_sha256) DO NOTHING""",
        (digest, len(body), compression, packed, content_type, base, depth),
    )
    cache.put(digest, body)
    return digest
