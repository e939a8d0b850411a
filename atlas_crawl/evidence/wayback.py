"""Archived copies through the Wayback Machine's Save Page Now 2 API.

``POST {base}/save`` with ``Authorization: LOW key:secret`` and ``url=``, then poll
``GET {base}/save/status/<job_id>`` a bounded number of times, honouring
``Retry-After``. A success gives ``{base}/web/<timestamp>/<original_url>``. Nothing here
may block or lose a recording: callers run it off the crawl's path and store the URL
when it arrives.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from scrapy.settings import BaseSettings

DEFAULT_BASE_URL = "https://web.archive.org"


class ArchiveError(RuntimeError):
    pass


@dataclass(frozen=True)
class WaybackSettings:
    access_key: str
    secret_key: str
    base_url: str = DEFAULT_BASE_URL
    max_polls: int = 10
    poll_interval: float = 5.0
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> WaybackSettings | None:
        """None unless ATLAS_WAYBACK_ENABLED is set; both keys are then required."""
        if not settings.getbool("ATLAS_WAYBACK_ENABLED", False):
            return None
        key = settings.get("ATLAS_WAYBACK_ACCESS_KEY")
        secret = settings.get("ATLAS_WAYBACK_SECRET_KEY")
        if not key or not secret:
            raise ArchiveError(
                "ATLAS_WAYBACK_ENABLED is set but ATLAS_WAYBACK_ACCESS_KEY or "
                "ATLAS_WAYBACK_SECRET_KEY is missing"
            )
        return cls(
            key,
            secret,
            (settings.get("ATLAS_WAYBACK_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            settings.getint("ATLAS_WAYBACK_MAX_POLLS", 10),
            settings.getfloat("ATLAS_WAYBACK_POLL_INTERVAL", 5.0),
        )


class WaybackClient:
    def __init__(self, settings: WaybackSettings, sleep=time.sleep) -> None:  # type: ignore[no-untyped-def]
        self.settings = settings
        self.sleep = sleep

    def _call(self, request: urllib.request.Request) -> tuple[dict, float | None]:
        request.add_header(
            "Authorization", f"LOW {self.settings.access_key}:{self.settings.secret_key}"
        )
        request.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout) as response:
                retry = response.headers.get("Retry-After")
                return json.loads(response.read() or b"{}"), _seconds(retry)
        except urllib.error.HTTPError as exc:
            if exc.code in (429, 503):
                return {"status": "pending", "throttled": True}, _seconds(
                    exc.headers.get("Retry-After")
                )
            raise ArchiveError(f"{request.full_url}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
            raise ArchiveError(f"{request.full_url}: {exc}") from exc

    def save(self, url: str) -> str:
        """The archive URL of a fresh capture of ``url``; ArchiveError if there is none."""
        base = self.settings.base_url
        data = urllib.parse.urlencode({"url": url}).encode()
        for _ in range(self.settings.max_polls):
            answer, retry = self._call(urllib.request.Request(f"{base}/save", data=data))
            if not answer.get("throttled"):
                break
            self.sleep(retry if retry is not None else self.settings.poll_interval)
        else:
            raise ArchiveError("Save Page Now kept answering 'busy'")
        job = answer.get("job_id")
        if not job:
            raise ArchiveError(f"Save Page Now gave no job id: {answer}")
        for _ in range(self.settings.max_polls):
            status, retry = self._call(urllib.request.Request(f"{base}/save/status/{job}"))
            state = status.get("status")
            if state == "success":
                original = status.get("original_url") or url
                return f"{base}/web/{status['timestamp']}/{original}"
            if state == "error":
                raise ArchiveError(f"Save Page Now failed: {status.get('message', status)}")
            self.sleep(retry if retry is not None else self.settings.poll_interval)
        raise ArchiveError(f"job {job} still pending after {self.settings.max_polls} polls")


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
