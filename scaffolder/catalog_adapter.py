"""The engine's CatalogAdapter over catalog.models: fetch entities, register locations.

Actions run in a thread of their own while the runner's thread keeps watch. Django database
connections belong to one thread each, so every catalog call is handed to the thread that
created the adapter and run there: that thread calls ``pump()`` often (the task's cancel
token does, every time the runner checks it). A call made from the owner thread itself runs
at once.

``register_location(url)`` accepts what catalog:register builds from publish:git's
``repoContentsUrl``: ``<repository>.git/blob/<branch>/<path>`` becomes a git location
(target the repository, ref the branch, path the catalog file); ``https://host/o/r/blob/<branch>/<path>``
(GitHub/GitLab style) becomes a git location on ``https://host/o/r.git``; other http(s)
URLs become url locations and ``file:`` URLs or absolute paths file locations.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from catalog.ingest import LocationNotAllowed, check_target_allowed, refresh_location
from catalog.models import Entity, Location
from portal import audit

from .actions.registry import ActionError
from .expressions import FilterArgumentError, parse_entity_ref

_GIT_BLOB = re.compile(r"^(?P<repo>.+?\.git)/(?:-/)?(?:blob|tree)/(?P<ref>[^/]+)/(?P<path>.+)$")
_WEB_BLOB = re.compile(r"^(?P<repo>https?://[^?#]+?)/(?:-/)?(?:blob|tree)/(?P<ref>[^/]+)/(?P<path>[^?#]+)$")


@dataclass(frozen=True)
class LocationSpec:
    type: str
    target: str
    git_ref: str = ""
    git_path: str = ""


def location_for_url(url: str) -> LocationSpec:
    """Translate a catalog file URL into the catalog Location that reads it."""
    url = (url or "").strip()
    if not url:
        raise ActionError("no catalog file URL was given")
    match = _GIT_BLOB.match(url)
    if match:
        return LocationSpec(Location.Type.GIT, match["repo"], match["ref"], match["path"].strip("/"))
    match = _WEB_BLOB.match(url)
    if match:
        return LocationSpec(Location.Type.GIT, match["repo"] + ".git", match["ref"], match["path"].strip("/"))
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        return LocationSpec(Location.Type.URL, url)
    if scheme == "file":
        return LocationSpec(Location.Type.FILE, url2pathname(urlsplit(url).path))
    if url.startswith("/"):
        return LocationSpec(Location.Type.FILE, url)
    raise ActionError(f"cannot register {url!r}: use a repository, an http(s) URL or an absolute path")


class DjangoCatalog:
    """CatalogAdapter backed by the portal's catalog; see the module docstring for threads."""

    def __init__(self, user=None, task_id: str | None = None, *, timeout: float = 300.0, readonly: bool = False):
        self.user = user
        self.task_id = task_id
        self.timeout = timeout
        self.readonly = readonly
        self.registered: list[Location] = []
        self._owner = threading.get_ident()
        self._calls: queue.SimpleQueue = queue.SimpleQueue()

    # thread hand-over ----------------------------------------------------------------------------
    def _call(self, function, *args):
        if threading.get_ident() == self._owner:
            return function(*args)
        done = threading.Event()
        box: dict[str, Any] = {}
        self._calls.put((function, args, box, done))
        deadline = time.monotonic() + self.timeout
        while not done.wait(0.05):
            if time.monotonic() > deadline:
                raise ActionError("the catalog did not answer in time")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def pump(self) -> None:
        """Run the catalog calls actions are waiting for (only in the thread that made the adapter)."""
        if threading.get_ident() != self._owner:
            return
        while True:
            try:
                function, args, box, done = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                box["value"] = function(*args)
            except Exception as exc:  # noqa: BLE001 - handed back to the action's thread
                box["error"] = exc if isinstance(exc, ActionError) else ActionError(str(exc))
            finally:
                done.set()

    # CatalogAdapter ------------------------------------------------------------------------------
    def fetch_entity(self, ref: str) -> dict[str, Any] | None:
        return self._call(self._fetch_entity, ref)

    def register_location(self, url: str) -> dict[str, Any]:
        return self._call(self._register_location, url)

    # in the owner thread -------------------------------------------------------------------------
    def _fetch_entity(self, ref: str) -> dict[str, Any] | None:
        try:
            parsed = parse_entity_ref(ref)
        except FilterArgumentError as exc:
            raise ActionError(str(exc)) from None
        full = f"{parsed['kind']}:{parsed['namespace']}/{parsed['name']}".lower()
        entity = Entity.objects.filter(ref=full).only("data").first()
        return entity.data if entity is not None else None

    def _register_location(self, url: str) -> dict[str, Any]:
        if self.readonly:
            raise ActionError("the catalog is read-only here")
        spec = location_for_url(url)
        try:
            check_target_allowed(spec.type, spec.target)
        except LocationNotAllowed as exc:
            raise ActionError(str(exc)) from None
        location = Location.objects.filter(
            type=spec.type, target=spec.target, git_ref=spec.git_ref, git_path=spec.git_path
        ).first()
        created = location is None
        if created:
            location = Location.objects.create(
                type=spec.type, target=spec.target, git_ref=spec.git_ref, git_path=spec.git_path,
                created_by=self.user if getattr(self.user, "is_authenticated", False) else None,
            )
        report = refresh_location(location, force=not created)
        if report.status == "failed":
            if created:
                location.delete()
            raise ActionError(f"the catalog could not read {url}: {report.message}")
        entities = [e.data for e in location.entities.filter(orphan=False).order_by("id")]
        if not entities:
            problems = "; ".join(e.get("message", "") for e in report.errors[:3]) or "no entities found"
            if created:
                location.delete()
            raise ActionError(f"{url} holds no valid catalog entity: {problems}")
        if created:
            self.registered.append(location)
            audit.record(
                self.user if self.user is not None else "scaffolder",
                "catalog.location.register",
                location,
                after={"type": spec.type, "target": spec.target, "git_ref": spec.git_ref, "git_path": spec.git_path},
                message=f"Registered by software template task {self.task_id}. {report.summary()}",
            )
        return {"entities": entities}
