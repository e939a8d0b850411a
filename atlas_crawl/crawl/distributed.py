"""Several crawler processes (or machines) sharing one round of checks through Redis.

Set ``ATLAS_REDIS_URL`` and start the same crawl on every machine:
the requests go to scrapy-redis's shared queue instead of each process's memory. A
*round* (``-a round=NAME``, the setting ``ATLAS_ROUND``, else the current UTC hour) names one pass
over the documents; what this module adds to scrapy-redis makes that pass exact:

- seeding: every process yields every due document, but only the first to reach Redis
  enqueues it (a set of seeded documents per round), so each is queued once per round;
- leases: a process takes a request from the queue and moves it, in one Redis script,
  to a list of its own; then records it as in flight under its document, and only then
  drops it from that list (one transaction), so a process killed at any point holds
  every request it took in one place or the other. When the check is recorded the entry
  goes. A process that dies stops beating; whichever process is idle next puts its
  requests back in the queue, first fetches and confirming re-fetches alike. Nobody
  closes while the round still has work in flight;
- the database: each check of a round carries ``source_ref = round:...``, which the
  recorder looks up under the document's lock before recording, so a document re-queued
  after its first process had already recorded it (killed between commit and release)
  is never recorded twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import UTC, datetime
from typing import Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy_redis.scheduler import Scheduler

from atlas_crawl.crawl.plan import CrawlPlan

log = logging.getLogger(__name__)

# Round keys disappear from Redis after two days: a round is one pass, not a history.
ROUND_TTL_SECONDS = 2 * 24 * 3600

# Pop the first request of the (priority) queue and keep it in the taker's own list, at
# once: between the two, a killed process would lose it.
_TAKE = """
local item = redis.call('ZRANGE', KEYS[1], 0, 0)
if #item == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
redis.call('RPUSH', KEYS[2], item[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return item[1]
"""


def distributed_settings(url: str) -> dict[str, Any]:
    """The Scrapy settings of a process that joins the rounds queued at Redis ``url``."""
    return {
        "SCHEDULER": "atlas_crawl.crawl.distributed.RoundScheduler",
        "REDIS_URL": url,
        # A process that ends must not clear a queue that others still work on.
        "SCHEDULER_PERSIST": True,
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_DUPEFILTER_KEY": "atlas:%(spider)s:dupefilter",
    }


def round_name(requested: str | None = None) -> str:
    """The round a process joins: asked for, else the current UTC hour (so processes
    that cron starts together on several machines agree)."""
    name = requested or datetime.now(UTC).strftime("%Y-%m-%dT%H")
    if not name or any(c.isspace() or c == ":" for c in name):
        raise ValueError(f"round name {name!r}: use letters, digits, '-', '_', '.' or 'T'")
    return name


def inflight_key(document: str, verifying: bool) -> str:
    """The in-flight key of a check of ``document`` (its first fetch or its re-fetch)."""
    return f"{document}:verify" if verifying else document


def request_key(meta: dict[str, Any]) -> str | None:
    """The in-flight key of a document's request (None for other requests)."""
    document = meta.get("atlas_document")
    if document is None:
        return None
    return inflight_key(str(document), bool(meta.get("atlas_verifying")))


class RoundScheduler(Scheduler):
    """scrapy-redis's scheduler with per-round seeding, leases and reclaiming."""

    crawler: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> RoundScheduler:
        scheduler = super().from_crawler(crawler)
        scheduler.crawler = crawler
        scheduler.lease = crawler.settings.getfloat("ATLAS_REDIS_LEASE", 30.0)
        scheduler.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        return scheduler

    def open(self, spider: Any) -> None:
        plan = CrawlPlan.of(self.crawler)
        self.round = round_name(plan.round or self.crawler.settings.get("ATLAS_ROUND"))
        plan.round = self.round
        self.prefix = f"atlas:{spider.name}:{self.round}"
        self.queue_key = f"{self.prefix}:requests"
        self.seeded_key = f"{self.prefix}:seeded"
        self.owner_key = f"{self.prefix}:inflight"
        self.request_key = f"{self.prefix}:inflight-requests"
        self.taken_key = self._taken_key(self.worker)
        super().open(spider)
        self._take = self.server.register_script(_TAKE)
        self._beat()
        self._heartbeat: asyncio.TimerHandle | None = None
        self._schedule_beat()
        signals_ = self.crawler.signals
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            signals_.connect(self._item_done, signal=signal)
        signals_.connect(self._on_idle, signal=signals.spider_idle)
        log.info("round %s: worker %s joins (queue %s)", self.round, self.worker, self.queue_key)

    def close(self, reason: str) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        # Anything still ours goes back for another process (a shutdown mid-round).
        self._reclaim(lambda owner: owner == self.worker)
        self.server.delete(self._worker_key(self.worker))
        super().close(reason)

    # Heartbeat: a worker is alive while its key exists.
    def _worker_key(self, worker: str) -> str:
        return f"{self.prefix}:worker:{worker}"

    def _taken_key(self, worker: str) -> str:
        return f"{self.prefix}:taken:{worker}"

    def _beat(self) -> None:
        self.server.set(self._worker_key(self.worker), "1", px=int(self.lease * 1000))

    def _schedule_beat(self) -> None:
        def beat() -> None:
            try:
                self._beat()
            except Exception as exc:  # Redis away for a moment: try again next beat
                log.warning("round %s: heartbeat failed: %s", self.round, exc)
            self._schedule_beat()

        self._heartbeat = asyncio.get_event_loop().call_later(self.lease / 3, beat)

    def _expire(self, *keys: str) -> None:
        for key in keys:
            self.server.expire(key, ROUND_TTL_SECONDS)

    # The queue.
    def enqueue_request(self, request: Any) -> bool:
        key = request_key(request.meta)
        if request.meta.get("atlas_seed") and key is not None:
            if not self.server.sadd(self.seeded_key, key):
                return False  # another process (or an earlier run) queued it this round
            self._expire(self.seeded_key)
        queued = super().enqueue_request(request)
        self._expire(self.queue_key)
        return bool(queued)

    def next_request(self) -> Any:
        encoded = self._take(keys=[self.queue_key, self.taken_key], args=[ROUND_TTL_SECONDS])
        if encoded is None:
            return None
        request = self.queue._decode_request(encoded)
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis", spider=self.spider)
        key = request_key(request.meta)
        pipe = self.server.pipeline(transaction=True)
        if key is not None:
            pipe.hset(self.owner_key, key, self.worker)
            pipe.hset(self.request_key, key, encoded)
        pipe.lrem(self.taken_key, 1, encoded)
        pipe.execute()
        self._expire(self.owner_key, self.request_key)
        return request

    def _item_done(self, item: Any, **kwargs: Any) -> None:
        document = getattr(item, "document", None)
        if document is not None:
            self._release(inflight_key(document.key, getattr(item, "verifying", False)))

    def _release(self, key: str) -> int:
        """Forget an in-flight request; 1 for the one process whose call removed it."""
        pipe = self.server.pipeline()
        pipe.hdel(self.owner_key, key)
        pipe.hdel(self.request_key, key)
        released, _ = pipe.execute()
        return int(released)

    def _reclaim(self, stale: Any) -> int:
        """Put back in the queue the requests held by the workers ``stale`` accepts: in
        flight, or taken and not yet recorded as in flight."""
        back = 0
        for raw_key, raw_owner in self.server.hgetall(self.owner_key).items():
            key, owner = _text(raw_key), _text(raw_owner)
            if not stale(owner):
                continue
            encoded = self.server.hget(self.request_key, key)
            # HDEL answers 1 to one process only: that one puts the request back.
            if not self._release(key) or encoded is None:
                continue
            self.queue.push(self.queue._decode_request(encoded))
            back += 1
            log.warning("round %s: %s was in flight at %s; queued again", self.round, key, owner)
        taken_prefix = self._taken_key("")
        for raw_list in self.server.scan_iter(match=f"{taken_prefix}*"):
            owner = _text(raw_list)[len(taken_prefix) :]
            if not stale(owner):
                continue
            # LPOP hands each request to one process only.
            while (encoded := self.server.lpop(raw_list)) is not None:
                self.queue.push(self.queue._decode_request(encoded))
                back += 1
                log.warning("round %s: a request taken at %s; queued again", self.round, owner)
        return back

    def _on_idle(self, spider: Any = None) -> None:
        def dead(owner: str) -> bool:
            return owner != self.worker and not self.server.exists(self._worker_key(owner))

        self._reclaim(dead)
        # Our own entries while idle: their items never came (a callback error); they
        # would hold the round open forever.
        mine = [
            _text(k)
            for k, v in self.server.hgetall(self.owner_key).items()
            if _text(v) == self.worker
        ]
        for key in mine:
            log.error("round %s: %s was taken but never recorded; released", self.round, key)
            self._release(key)
        if len(self.queue) or self.server.hlen(self.owner_key):
            raise DontCloseSpider  # the round is not over: others are still checking


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
