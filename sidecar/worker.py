"""process(job): claim -> identify the TMDB id -> fetch -> write -> mark.

This is the one place where exceptions become lifecycle states (``_fail``).  Every
step is idempotent: a job that dies half-way is simply done again, because claiming
is atomic, fetching is a GET and writing replaces files atomically.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sidecar import metadata
from sidecar.episodes import find_by_date, seasons_for_dates
from sidecar.errors import ScanarrError, TmdbAuthError, TmdbNotFound
from sidecar.identify import Guess
from sidecar.lifecycle import Lifecycle, parse_date, refresh_days
from sidecar.matcher import match
from sidecar.state import Item, StateStore, iso
from sidecar.tmdb import TmdbClient
from sidecar.tmdbhttp import FetchResult
from sidecar.workqueue import Job
from sidecar.writer import Writer

log = logging.getLogger(__name__)
SHOW_CACHE_SIZE = 64
SHOW_CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Options:
    language: str = "en-US"
    certification_country: str = "US"
    roots: tuple[str, ...] = ()


class ShowCache:
    """Recently fetched shows, so an episode arriving after its season was fetched costs
    no request: in memory for bursts (a season landing as 20 webhooks), and compressed in
    the database so a later ``scanarr scan`` process benefits too."""

    def __init__(self, store: StateStore, clock: Callable[[], float]) -> None:
        self._store, self._clock = store, clock
        self._items: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, show_dir: str, tmdb_id: int, seasons: Iterable[int]) -> dict[str, Any] | None:
        fresh_after = self._clock() - SHOW_CACHE_SECONDS
        with self._lock:
            entry = self._items.get(show_dir)
        show = entry[1] if entry and entry[0] > fresh_after else (
            self._store.cached_show(show_dir, fresh_after))
        if show is None or show.get("id") != tmdb_id or not set(seasons) <= set(show["seasons"]):
            return None
        return show

    def put(self, show_dir: str, show: dict[str, Any]) -> None:
        now = self._clock()
        with self._lock:
            self._items[show_dir] = (now, show)
            self._items.move_to_end(show_dir)
            while len(self._items) > SHOW_CACHE_SIZE:
                self._items.popitem(last=False)
        self._store.cache_show(show_dir, show, now - SHOW_CACHE_SECONDS)


class Worker:
    """Turns one job into files on disk and rows in INDEXED or ERROR."""

    def __init__(self, store: StateStore, client: TmdbClient, writer: Writer, options: Options,
                 *, notify: Callable[[list[str]], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self.client, self.writer, self.options = store, client, writer, options
        self.notify = notify
        self.clock = clock
        self.shows = ShowCache(store, clock)
        self.auth_error: str | None = None
        self._done_lock = threading.Lock()
        self.items_done = 0  # items finished (any outcome): drives progress bars
        self._claimed: set[str] = set()

    def process(self, job: Job) -> None:
        """Never raises: every failure ends as a state on the job's items."""
        items = [item for path in sorted(job.paths)
                 if (item := self.store.claim(path, force=job.force)) is not None]
        if not items:
            return
        with self._done_lock:
            self._claimed.update(item.path for item in items)
        started = time.monotonic()
        try:
            self._process(job, items, started)
        finally:
            with self._done_lock:
                self.items_done += len(items)
                self._claimed.difference_update(item.path for item in items)

    def claimed(self) -> list[str]:
        """Items this worker holds in PROCESSING right now (to release on shutdown)."""
        with self._done_lock:
            return sorted(self._claimed)

    def _process(self, job: Job, items: list[Item], started: float) -> None:
        try:
            if job.kind == "tv":
                written = self._show(items, job.force)
            else:
                written = self._movie(items, job.force)
        except Exception as exc:
            self._fail(items, exc)
            return
        log.info("indexed %s (%d file(s)) in %.2fs", job.key[1], len(items),
                 time.monotonic() - started)
        if written and self.notify:
            self.notify(sorted({os.path.dirname(p) for p in written}))

    # -- movies ------------------------------------------------------------------------

    def _movie(self, items: list[Item], force: bool) -> list[str]:
        first = items[0]
        tmdb_id = first.tmdb_id or self._match(first, "movie")
        # A changed file is rewritten whatever TMDB says, so it asks for the body, not a 304.
        etag = None if force or first.claimed_from == Lifecycle.CHANGED else first.etag
        result = self.client.movie(tmdb_id, etag=etag)
        if self._unchanged(items, result, force):
            return []
        if result.data is None:  # a 304, but the files beside the media are gone: the body
            result = self.client.movie(tmdb_id)
        assert result.data is not None
        doc = metadata.movie_document(
            result.data, language=self.options.language, fetched_at=self._now(),
            certification_country=self.options.certification_country)
        alone = self._alone_in_folder(items)
        written: list[str] = []
        for item in items:
            written += self.writer.write_movie(item.path, doc, alone_in_folder=alone,
                                               force_images=force)
        for item in items:
            self._indexed(item, tmdb_id, result, doc.get("release_date"), imdb=doc.get("imdb_id"))
        return written

    def _alone_in_folder(self, items: list[Item]) -> bool:
        """The folder holds only this movie's files (parts, versions) and is not a root."""
        folder = items[0].parent_path
        if folder.rstrip(os.sep) in {r.rstrip(os.sep) for r in self.options.roots}:
            return False
        others = set(self.store.file_stats_in_dir(folder)) - {i.path for i in items}
        return not others and not self.store.has_media_below(folder)

    # -- shows ---------------------------------------------------------------------------

    def _show(self, items: list[Item], force: bool) -> list[str]:
        show_dir = items[0].show_dir or items[0].parent_path
        known = self.store.show(show_dir) or {}
        manual = next((i.tmdb_id for i in items if i.id_source == "manual" and i.tmdb_id), None)
        tmdb_id = manual or known.get("tmdb_id") or next(
            (i.tmdb_id for i in items if i.tmdb_id), None)
        tmdb_id = tmdb_id or self._match(items[0], "tv")
        seasons = sorted({i.season for i in items if i.season is not None and i.episodes})
        show = None if force else self.shows.get(show_dir, tmdb_id, seasons)
        if show is None:
            show = self._fetch_show(show_dir, tmdb_id, seasons)
        dates = [i.air_date for i in items if i.air_date and not i.episodes]
        if dates:
            show = self._add_dated_seasons(show_dir, tmdb_id, show, dates)
        show_doc = metadata.show_document(
            {**show, "seasons": show.get("season_summaries", [])},
            language=self.options.language, fetched_at=self._now(),
            certification_country=self.options.certification_country)
        written = self.writer.write_show(show_dir, show_doc, show["seasons"], force_images=force)
        self.store.save_show(show_dir, tmdb_id=tmdb_id, title=show_doc["title"],
                             metadata_updated_at=self.store.now_iso())
        for item in items:
            try:
                written += self._episode(item, show, tmdb_id, force)
            except ScanarrError as exc:
                self._fail([item], exc)
        return written

    def _fetch_show(self, show_dir: str, tmdb_id: int, seasons: Sequence[int]) -> dict[str, Any]:
        result = self.client.tv(tmdb_id, seasons)
        assert result.data is not None
        self.shows.put(show_dir, result.data)
        return result.data

    def _add_dated_seasons(self, show_dir: str, tmdb_id: int, show: dict[str, Any],
                           dates: list[str]) -> dict[str, Any]:
        """Fetch the seasons that may hold date-named episodes, if not fetched yet."""
        wanted = seasons_for_dates(show.get("season_summaries", []), dates)
        if wanted <= set(show["seasons"]):
            return show
        return self._fetch_show(show_dir, tmdb_id, sorted(wanted | set(show["seasons"])))

    def _episode(self, item: Item, show: dict[str, Any], tmdb_id: int, force: bool) -> list[str]:
        numbers: tuple[int, ...] = item.episodes
        season_number = item.season
        if item.air_date and not numbers:
            found = find_by_date(show["seasons"], item.air_date)
            season_number, numbers = (found[0], (found[1],)) if found else (None, ())
        season = show["seasons"].get(season_number) if season_number is not None else None
        if season is None or not numbers:
            where = f"aired {item.air_date}" if item.air_date else f"in season {item.season}"
            raise TmdbNotFound(f"TMDB show {tmdb_id} has no episode {where} "
                               f"(file {os.path.basename(item.path)})")
        doc = metadata.episode_document(show, season, numbers,
                                        language=self.options.language, fetched_at=self._now())
        written = self.writer.write_episode(item.path, doc, force_images=force)
        self.store.mark_indexed(
            item.path, tmdb_id=tmdb_id, tmdb_type="tv", metadata_updated_at=self.store.now_iso(),
            release_date=doc.get("air_date"), stale_after=self._stale_after(doc.get("air_date")))
        return written

    # -- shared steps ----------------------------------------------------------------------

    def _match(self, item: Item, tmdb_type: str) -> int:
        ids = {k: v for k, v in (("imdb", item.imdb_id), ("tvdb", item.tvdb_id)) if v}
        guess = Guess(kind="movie" if tmdb_type == "movie" else "episode", title=item.title,
                      year=item.year, season=item.season, episodes=item.episodes, ids=ids,
                      show_dir=item.show_dir)
        found = match(guess, self.client)
        self.store.update_fields(item.path, tmdb_id=found.tmdb_id, id_source=found.via)
        return found.tmdb_id

    def _unchanged(self, items: list[Item], result: FetchResult, force: bool) -> bool:
        """304, or the same content as last time with the files still there: no writes."""
        first = items[0]
        same = result.not_modified or (result.content_hash == first.response_hash)
        if force or not same or first.claimed_from == Lifecycle.CHANGED:
            return False
        if not all(self._has_metadata(i) for i in items):
            return False
        for item in items:
            self.store.mark_indexed(item.path, stale_after=self._stale_after(item.release_date))
        return True

    @staticmethod
    def _has_metadata(item: Item) -> bool:
        folder, name = os.path.split(item.path)
        stem = os.path.splitext(name)[0]
        return any(os.path.exists(os.path.join(folder, n))
                   for n in (f"{stem}.metadata.json", "metadata.json"))

    def _indexed(self, item: Item, tmdb_id: int, result: FetchResult, release: str | None,
                 *, imdb: str | None = None) -> None:
        self.store.mark_indexed(
            item.path, tmdb_id=tmdb_id, tmdb_type="movie", imdb_id=imdb or item.imdb_id,
            tmdb_etag=result.etag, last_response_hash=result.content_hash,
            metadata_updated_at=self.store.now_iso(), release_date=release,
            stale_after=self._stale_after(release))

    def _stale_after(self, release: str | None) -> str:
        now = self.clock()
        today = dt.datetime.fromtimestamp(now, dt.UTC).date()
        return iso(now + refresh_days(parse_date(release), today) * 86400)

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)

    def _fail(self, items: Sequence[Item], exc: BaseException) -> None:
        """The one mapping from exceptions to states."""
        paths = [i.path for i in items]
        if isinstance(exc, TmdbAuthError):
            self.auth_error = str(exc) or exc.reason
            for path in paths:
                self.store.release(path)
            log.error("TMDB refused the key (%s): fetching paused", exc.reason)
            return
        if isinstance(exc, ScanarrError):
            reason, retryable = exc.reason, exc.retryable
        else:
            log.exception("unexpected failure on %s", paths[0])
            reason, retryable = "internal", True
        candidates = getattr(exc, "candidates", ())
        for path in paths:
            current = self.store.get(path)
            if current is not None and current.state == Lifecycle.PROCESSING:
                self.store.mark_error(path, reason, str(exc) or reason, retryable=retryable,
                                      candidates=candidates)
        log.warning("%s: %s (%s)", os.path.basename(paths[0]), exc, reason)
