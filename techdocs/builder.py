"""Building a docs source folder into sanitized HTML pages, navigation and search text.

Public API (no Django):

- ``build_site(root, docs_dir_rel=".", *, limits=None, asset_url=None, page_url=None, workers=None)
  -> BuildResult``
  ``root`` is the materialised source (a local folder or a git checkout); ``docs_dir_rel`` is the
  ``dir:`` target of ``backstage.io/techdocs-ref``, relative to ``root``: the folder holding
  ``mkdocs.yml``. Without ``mkdocs.yml`` the site is ``docs/`` below it with default settings.
  ``page_url(page_path)`` and ``asset_url(file_path)`` turn page paths and file paths (relative to the
  docs folder) into URLs for links; by default links are relative to the page (see
  ``techdocs.markdown_render``). Pass picklable ones (``UrlPrefix``, module-level functions), not
  lambdas, so that pages can be rendered in parallel (below). ``workers`` is how many processes
  render pages, the calling one included: None for one per usable CPU core, 1 for the calling one only.
- ``UrlPrefix(base, folders=False)``: picklable URL functions (from ``techdocs.markdown_render``).
- ``source_hash(root, docs_dir_rel=".", *, limits=None) -> str``: the ``content_hash`` a build would
  report, without rendering anything, so a caller can skip unchanged sources.
- ``previous_and_next(nav, page_path) -> (NavItem | None, NavItem | None)``: neighbours in nav order.
- ``nav_pages(nav) -> list[NavItem]``: the page entries of a nav, in order, each page once.
- ``BuildLimits``, ``BuildResult``, ``BuiltPage``, ``NavItem``, ``BuildIssue``; ``BuildError`` (and its
  subclass ``ConfigError``) when the site cannot be built at all.

Page paths are the Markdown path without its suffix, ``index.md`` (or ``README.md`` in a folder without
``index.md``) standing for its folder: ``guide/install.md`` -> ``guide/install``, ``guide/index.md`` ->
``guide``, ``index.md`` -> ``""``.

What fails the whole build (``BuildError``): a missing source or docs folder; a docs folder or config
file reached through a symlink that leaves ``root``; ``..`` or absolute paths in ``docs_dir_rel``,
``docs_dir`` or the nav; an unreadable ``mkdocs.yml``; more pages than ``limits.max_pages`` or more files
than ``limits.max_files`` (both found while listing, before anything is read or rendered); more bytes
than ``limits.max_total_bytes``; a build running past ``limits.max_build_seconds`` (checked between
pages).

What fails one file only (an entry in ``BuildResult.errors``; the rest builds): a file over
``limits.max_file_bytes``; a symlink leaving ``root``; two files claiming the same page path; a page
that cannot be rendered or takes longer than ``limits.max_page_seconds`` (python-markdown is quadratic
on some inputs, such as thousands of nested brackets). The time limits use ``SIGALRM`` and apply only
when building on the main thread (as a Celery prefork worker does); elsewhere they are skipped.

Warnings (``BuildResult.warnings``): nav entries naming missing pages (left out of the nav), links to
missing files, and files that are not valid UTF-8. Those are decoded with U+FFFD replacement characters
so the page still appears, and the warning names the first bad byte.

Titles (of pages, nav entries and table-of-contents entries) are plain text: escape them when displaying.

Parallel rendering: sites of ``PARALLEL_MIN_PAGES`` pages or more are rendered in batches of
consecutive pages by the calling process together with worker processes started with "forkserver"
(safe in a process that has threads, as Celery workers and Django servers do); the results are put
back in page order, so the result is the same as rendering in one process. The page time limit applies
in the workers (they render on their main thread) and the build time limit holds for the whole build.
Whenever parallel rendering is not possible (URL functions that cannot be pickled, a single core, a
daemonic process, a pool that fails to start or breaks), the pages concerned are rendered in the
calling process instead; the log says which way they were rendered. As with any multiprocessing, the
program's main module must be safe to import (``if __name__ == "__main__":``): workers import it.

``content_hash`` covers the config file, every file of the docs folder (path and bytes; path and size
for files over the size limit) and ``RENDERER_VERSION``; it changes exactly when one of them does.
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import os
import pickle
import signal
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from techdocs.markdown_render import (
    SUPPORTED_EXTENSIONS,
    MarkdownRenderer,
    RenderedMarkdown,
    SiteLinks,
    UrlPrefix,
    page_path_for,
)
from techdocs.mkdocs_config import (
    BuildError,
    ConfigError,
    MkDocsConfig,
    NavEntry,
    default_config,
    find_config_file,
    parse_config,
    safe_relative_path,
)

__all__ = [
    "RENDERER_VERSION",
    "BuildError",
    "BuildIssue",
    "BuildLimits",
    "BuildResult",
    "BuiltPage",
    "ConfigError",
    "NavItem",
    "UrlPrefix",
    "build_site",
    "nav_pages",
    "previous_and_next",
    "source_hash",
]

# Part of content_hash: bump it when rendering changes so stored pages get rebuilt.
RENDERER_VERSION = "1"
MARKDOWN_SUFFIXES = (".md", ".markdown")
MAX_FOLDER_DEPTH = 32
# Below this many pages, starting worker processes costs more than it saves.
PARALLEL_MIN_PAGES = 40
# Each batch of pages is this share of the pages left per process (guided scheduling) and at least
# _MIN_BATCH_PAGES; while the workers start, this process renders batches of _STARTUP_BATCH_PAGES.
_BATCHES_PER_PROCESS = 4
_MIN_BATCH_PAGES = 4
_STARTUP_BATCH_PAGES = 8
# How long past the build time limit to wait for a worker to report that limit itself.
_WORKER_GRACE_SECONDS = 2.0
_INDEX_NAMES = ("index", "readme")


@dataclass(frozen=True)
class BuildLimits:
    max_file_bytes: int = 10 * 1024 * 1024
    max_pages: int = 5000
    max_total_bytes: int = 200 * 1024 * 1024
    max_files: int = 50_000
    # Some Markdown (thousands of nested brackets or list levels) takes python-markdown minutes.
    # Enforced with SIGALRM, so only when building on the main thread (as a Celery prefork worker does).
    max_page_seconds: float | None = 10.0
    max_build_seconds: float | None = 900.0


@dataclass(frozen=True)
class BuildIssue:
    message: str
    # The file concerned, relative to the docs folder, when there is one.
    path: str | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True)
class NavItem:
    """A nav entry: a page (``path``), an external link (``url``) or a section (``children``)."""

    title: str
    path: str | None = None
    url: str | None = None
    children: tuple[NavItem, ...] = ()


@dataclass(frozen=True)
class BuiltPage:
    path: str
    title: str
    html: str
    toc: list[dict[str, Any]]
    headings: list[dict[str, Any]]
    text: str
    source_path: str
    edit_url: str | None


@dataclass
class BuildResult:
    site_name: str
    site_description: str | None
    repo_url: str | None
    # The docs folder, relative to root.
    docs_dir: str
    pages: list[BuiltPage]
    nav: list[NavItem]
    # (path relative to the docs folder, absolute source file) for every file a page refers to.
    assets: list[tuple[str, Path]]
    warnings: list[BuildIssue]
    errors: list[BuildIssue]
    content_hash: str
    log: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def page(self, path: str) -> BuiltPage | None:
        return next((page for page in self.pages if page.path == path), None)


UrlFor = Callable[[str], str]


def build_site(
    root: Path | str,
    docs_dir_rel: str = ".",
    *,
    limits: BuildLimits | None = None,
    asset_url: UrlFor | None = None,
    page_url: UrlFor | None = None,
    workers: int | None = None,
) -> BuildResult:
    started = time.monotonic()
    limits = limits or BuildLimits()
    site = _load_site(Path(root), docs_dir_rel, limits)
    config, log = site.config, site.log
    warnings, errors = site.warnings, site.errors

    ignored = [name for name in config.markdown_extensions if name not in SUPPORTED_EXTENSIONS]
    if ignored:
        log.append(f"markdown extensions not supported, ignored: {', '.join(ignored)}")

    page_by_source = _assign_page_paths(site.markdown_files, errors)
    links = SiteLinks(page_by_source, [f.rel for f in site.other_files], page_url=page_url, asset_url=asset_url)
    rendered, referenced_assets = _render_pages(site, page_by_source, links, started, workers)

    titles = {
        source: result.title or _title_from_file_name(source)
        for source, result in rendered.items()
    }
    if config.nav is not None:
        failed = {f.rel for f in site.markdown_files} - set(rendered)
        nav = _nav_from_config(config.nav, page_by_source, titles, failed, warnings)
    else:
        nav = _nav_from_folders([f.rel for f in site.markdown_files if f.rel in rendered], page_by_source, titles)

    # A title given in the nav names the page everywhere; the first one wins.
    nav_titles: dict[str, str] = {}
    for item in nav_pages(nav):
        nav_titles.setdefault(item.path or "", item.title)
    source_by_page = {page: source for source, page in page_by_source.items() if source in rendered}
    ordered_sources = [source_by_page[item.path] for item in nav_pages(nav) if item.path in source_by_page]
    in_nav = set(ordered_sources)
    ordered_sources += [f.rel for f in site.markdown_files if f.rel in rendered and f.rel not in in_nav]

    pages = []
    for source in ordered_sources:
        result, path = rendered[source], page_by_source[source]
        pages.append(BuiltPage(
            path=path,
            title=nav_titles.get(path) or titles[source],
            html=result.html,
            toc=result.toc,
            headings=result.headings,
            text=result.text,
            source_path=source,
            edit_url=_edit_url(config, source),
        ))

    files_by_rel = {f.rel: f for f in site.other_files}
    assets = []
    for rel in referenced_assets:
        asset = files_by_rel[rel]
        if asset.content is None:
            errors.append(BuildIssue(
                f"referenced file is {asset.size} bytes, over the {site.limits.max_file_bytes} byte limit;"
                " not stored", rel))
            continue
        assets.append((rel, asset.path))

    log.append(f"built {len(pages)} pages and {len(assets)} files in {time.monotonic() - started:.2f}s")
    log.extend(f"warning: {issue}" for issue in warnings)
    log.extend(f"error: {issue}" for issue in errors)
    return BuildResult(
        site_name=config.site_name or _site_name_default(site),
        site_description=config.site_description,
        repo_url=config.repo_url,
        docs_dir=site.docs_dir_in_repo,
        pages=pages,
        nav=nav,
        assets=assets,
        warnings=warnings,
        errors=errors,
        content_hash=site.content_hash,
        log=log,
    )


def _render_pages(
    site: _LoadedSite, page_by_source: dict[str, str], links: SiteLinks, started: float, workers: int | None
) -> tuple[dict[str, RenderedMarkdown], list[str]]:
    """Render every page that has a page path; failures become errors. Returns pages and referenced files."""
    limits, warnings, errors = site.limits, site.warnings, site.errors
    jobs: list[_PageJob] = []
    decode_warnings: dict[str, list[BuildIssue]] = {}
    for source in site.markdown_files:
        if source.rel not in page_by_source or source.content is None:
            continue
        issues: list[BuildIssue] = []
        jobs.append(_PageJob(source.rel, _decode(source, issues)))
        decode_warnings[source.rel] = issues

    outcomes = _render_jobs_in_processes(jobs, links, limits, started, workers, site.log)
    if outcomes is None:
        outcomes = _render_jobs(jobs, links, limits, started)

    rendered: dict[str, RenderedMarkdown] = {}
    referenced_assets: dict[str, None] = {}
    for outcome in outcomes:
        warnings.extend(decode_warnings[outcome.source])
        if outcome.rendered is None:
            errors.append(BuildIssue(outcome.error or "the page could not be rendered; skipped", outcome.source))
            continue
        rendered[outcome.source] = outcome.rendered
        warnings.extend(BuildIssue(message, outcome.source) for message in outcome.link_warnings)
        referenced_assets.update(dict.fromkeys(outcome.assets))
    return rendered, list(referenced_assets)


@dataclass(frozen=True)
class _PageJob:
    source: str
    text: str


@dataclass(frozen=True)
class _PageOutcome:
    source: str
    # None when the page failed, with the reason in ``error``.
    rendered: RenderedMarkdown | None
    error: str | None = None
    link_warnings: tuple[str, ...] = ()
    assets: tuple[str, ...] = ()


def _render_jobs(
    jobs: Sequence[_PageJob], links: SiteLinks, limits: BuildLimits, started: float
) -> list[_PageOutcome]:
    """Render pages one after another in this process (a worker's or the caller's).

    Raises BuildError once the build has run past ``limits.max_build_seconds``, checked between pages.
    """
    renderer = MarkdownRenderer()
    outcomes: list[_PageOutcome] = []
    for job in jobs:
        elapsed = time.monotonic() - started
        if limits.max_build_seconds is not None and elapsed > limits.max_build_seconds:
            raise _build_timeout(limits)
        page_seconds = _page_seconds(limits, elapsed)
        page_links = links.for_page(job.source)
        error = None
        try:
            with _time_limit(page_seconds):
                result = renderer.render(job.text, links=page_links)
        except _PageTimeout:
            error = (f"the page took longer than {page_seconds:g}s to render (deeply nested lists, quotes or"
                     " brackets?); skipped")
        except RecursionError:
            error = "the page is nested too deeply to render; skipped"
        except Exception as exc:  # a broken page is reported, the rest of the site still builds
            error = f"the page could not be rendered ({type(exc).__name__}: {exc}); skipped"
        if error is not None:
            outcomes.append(_PageOutcome(job.source, None, error))
            renderer = MarkdownRenderer()  # the interrupted one may hold half a page
            continue
        outcomes.append(_PageOutcome(job.source, result, None, tuple(page_links.warnings), tuple(page_links.assets)))
    return outcomes


def _build_timeout(limits: BuildLimits) -> BuildError:
    return BuildError(f"the build took longer than {limits.max_build_seconds:g}s and was stopped")


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _render_jobs_in_processes(
    jobs: list[_PageJob], links: SiteLinks, limits: BuildLimits, started: float, workers: int | None,
    log: list[str],
) -> list[_PageOutcome] | None:
    """Render ``jobs`` here and in worker processes, in page order; None to render them here only.

    Batches whose worker failed (not their pages: a crashed or unstartable process) are rendered here.
    Raises BuildError when the build runs past its time limit, here or in a worker.
    """
    processes = _process_count(jobs, links, workers, log)
    if processes < 2:
        return None
    if limits.max_build_seconds is not None and time.monotonic() - started > limits.max_build_seconds:
        raise _build_timeout(limits)
    try:
        _start_forkserver()
    except Exception as exc:  # a platform without forkserver, no room for another process, ...
        log.append(f"rendering {len(jobs)} pages in one process: worker processes could not be started"
                   f" ({type(exc).__name__}: {exc})")
        return None

    workers = processes - 1
    # Pages [front, back) are still to be rendered. Workers take batches from the front, this process
    # from the back, until they meet: so this process renders while the workers start up, and no core
    # waits while pages are left. Batches shrink as the pages run out, so all finish at about the same time.
    front, back = 0, len(jobs)
    done: dict[int, list[_PageOutcome]] = {}  # by the index of their first page
    handed_out: dict[int, list[_PageJob]] = {}
    running: dict[Future[list[_PageOutcome]], int] = {}
    failures: list[str] = []
    rendered_here = 0
    starter = _PoolStarter(workers, links, limits, started)
    pool: ProcessPoolExecutor | None = None
    finished = False

    def batch_size(most: int | None = None) -> int:
        size = max(_MIN_BATCH_PAGES, math.ceil((back - front) / (processes * _BATCHES_PER_PROCESS)))
        return min(size, back - front, most or size)

    def render_batch_here(most: int | None = None) -> None:
        nonlocal back, rendered_here
        first = back - batch_size(most)
        done[first] = _render_jobs(jobs[first:back], links, limits, started)
        rendered_here += back - first
        back = first

    def hand_out() -> None:
        nonlocal front
        # One batch running and one waiting per worker, so a worker never waits for this process.
        while pool is not None and front < back and len(running) < workers * 2:
            size = batch_size()
            handed_out[front] = jobs[front:front + size]
            running[pool.submit(_render_jobs, handed_out[front], links, limits, started)] = front
            front += size

    def collect(future: Future[list[_PageOutcome]], timeout: float | None = None) -> None:
        first = running.pop(future)
        try:
            done[first] = future.result(timeout=timeout)
        except BuildError:
            raise
        except FutureTimeoutError:
            raise _build_timeout(limits)
        except Exception as exc:  # the worker died or its result could not be sent back
            failures.append(f"{type(exc).__name__}: {exc}")

    try:
        while front < back:
            if starter.pending and starter.ready():
                try:
                    pool = starter.pool()
                    hand_out()
                except Exception as exc:  # a pool that cannot start processes, or that broke at once
                    log.append(f"worker processes could not be started ({type(exc).__name__}: {exc}); the"
                               " pages were rendered in this process")
                    if pool is not None:
                        _shut_down(pool, wait=False)
                    pool, workers = None, 0
            if front == back:  # the workers took the last pages
                break
            # Small batches until the workers are there, so that they get pages as soon as they are.
            render_batch_here(most=_STARTUP_BATCH_PAGES if starter.pending else None)
            for future in [future for future in running if future.done()]:
                collect(future)
            try:
                hand_out()
            except Exception as exc:  # the pool broke: this process renders the rest
                failures.append(f"{type(exc).__name__}: {exc}")
                _shut_down(pool, wait=False)
                pool = None
        for future in sorted(running, key=running.__getitem__):
            timeout = None
            if limits.max_build_seconds is not None:
                remaining = limits.max_build_seconds - (time.monotonic() - started)
                timeout = max(remaining, 0) + _WORKER_GRACE_SECONDS
            collect(future, timeout)
        finished = True
    finally:
        starter.abandon()
        if pool is not None:
            _shut_down(pool, wait=finished)

    for first, batch in handed_out.items():
        if first not in done:
            done[first] = _render_jobs(batch, links, limits, started)
    if failures:
        log.append(f"worker processes failed ({failures[0]}); their pages were rendered in this process")
    if handed_out and workers:
        log.append(f"rendered {len(jobs)} pages in {processes} processes: {workers} worker"
                   f" {'process' if workers == 1 else 'processes'} and this one ({rendered_here} pages here)")
    elif workers:
        log.append(f"rendered {len(jobs)} pages in this process: they were done before the worker processes"
                   " had started")
    return [outcome for first in sorted(done) for outcome in done[first]]


class _PoolStarter:
    """Starts the worker pool on a thread of its own, as starting takes a while and this process renders
    meanwhile: the first build in a process waits for the forkserver to import the renderer.

    Once ``ready()``, ``pool()`` hands over the pool (or raises why it could not start). After
    ``abandon()``, a pool that was never handed over is shut down, whether it is ready yet or not.
    """

    def __init__(self, workers: int, links: SiteLinks, limits: BuildLimits, started: float) -> None:
        self.pending = True
        self._lock = threading.Lock()
        self._abandoned = False
        self._result: Future[ProcessPoolExecutor] = Future()
        self._thread = threading.Thread(target=self._start, args=(workers, links, limits, started),
                                        name="techdocs-worker-start", daemon=True)
        self._thread.start()

    def _start(self, workers: int, links: SiteLinks, limits: BuildLimits, started: float) -> None:
        try:
            pool = _process_pool(workers)
        except BaseException as exc:  # reported by pool()
            self._result.set_exception(exc)
            return
        try:
            # An empty batch starts each worker process and loads the renderer into it.
            for _ in range(workers):
                pool.submit(_render_jobs, [], links, limits, started)
        except BaseException as exc:
            _shut_down(pool, wait=False)
            self._result.set_exception(exc)
            return
        with self._lock:
            if not self._abandoned:
                self._result.set_result(pool)
                return
        _shut_down(pool, wait=True)

    def ready(self) -> bool:
        return self._result.done()

    def pool(self) -> ProcessPoolExecutor:
        self.pending = False
        return self._result.result()

    def abandon(self) -> None:
        """No pool is wanted (any more): one still starting, or started but never handed over, is shut down."""
        with self._lock:
            self._abandoned = True
            unclaimed = self.pending and self._result.done() and self._result.exception() is None
        self.pending = False
        if unclaimed:
            _shut_down(self._result.result(), wait=False)


def _process_count(jobs: list[_PageJob], links: SiteLinks, workers: int | None, log: list[str]) -> int:
    """How many processes should render ``jobs``, this one included; below 2 this one alone does."""
    if len(jobs) < PARALLEL_MIN_PAGES or (workers is not None and workers < 2):
        return 1
    cores = _usable_cores() if workers is None else workers
    processes = min(cores, math.ceil(len(jobs) / (PARALLEL_MIN_PAGES // 2)))
    if processes < 2:
        log.append(f"rendering {len(jobs)} pages in one process (one CPU core available)")
        return 1
    if multiprocessing.current_process().daemon:
        log.append(f"rendering {len(jobs)} pages in one process: worker processes could not be started"
                   " (this is a daemonic process, which may not have children)")
        return 1
    try:
        pickle.dumps(links)
    except Exception as exc:  # lambdas and local functions cannot go to another process
        log.append(f"rendering {len(jobs)} pages in one process: the page and file URL functions cannot be"
                   f" sent to worker processes ({type(exc).__name__}); pass picklable ones such as UrlPrefix")
        return 1
    return processes


def _start_forkserver() -> None:
    """Start the forkserver (once per process) without waiting for it to be ready.

    Workers are forked from this clean single-threaded server, never from the caller, whose other
    threads may hold locks; the server imports the renderer once for all of them.
    """
    import multiprocessing.forkserver  # not on every platform: a failure here means rendering in-process

    multiprocessing.get_context("forkserver").set_forkserver_preload(["techdocs.markdown_render",
                                                                      "techdocs.builder"])
    multiprocessing.forkserver.ensure_running()


def _process_pool(processes: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("forkserver"))


def _shut_down(pool: ProcessPoolExecutor, *, wait: bool) -> None:
    """Stop the pool; without waiting, also stop workers still rendering pages nobody will read."""
    if wait:
        pool.shutdown(wait=True)
        return
    # Python 3.14 has ProcessPoolExecutor.terminate_workers(); before it, the pool's own process table.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with suppress(Exception):  # already gone
            process.terminate()


def source_hash(root: Path | str, docs_dir_rel: str = ".", *, limits: BuildLimits | None = None) -> str:
    """The ``content_hash`` that ``build_site`` would report for the same arguments."""
    return _load_site(Path(root), docs_dir_rel, limits or BuildLimits()).content_hash


def nav_pages(nav: Iterable[NavItem]) -> list[NavItem]:
    """Page entries of ``nav`` depth-first, each page path once (its first entry)."""
    found: list[NavItem] = []
    seen: set[str] = set()

    def visit(items: Iterable[NavItem]) -> None:
        for item in items:
            if item.path is not None and item.path not in seen:
                seen.add(item.path)
                found.append(item)
            visit(item.children)

    visit(nav)
    return found


def previous_and_next(nav: Iterable[NavItem], page_path: str) -> tuple[NavItem | None, NavItem | None]:
    """The pages before and after ``page_path`` in nav order; (None, None) when it is not in the nav."""
    ordered = nav_pages(nav)
    for index, item in enumerate(ordered):
        if item.path == page_path:
            previous = ordered[index - 1] if index > 0 else None
            following = ordered[index + 1] if index + 1 < len(ordered) else None
            return previous, following
    return None, None


# --- reading the source ----------------------------------------------------------------------------


@dataclass
class _SourceFile:
    rel: str
    path: Path
    size: int
    # None when the file is over the size limit and was not read.
    content: bytes | None = None


@dataclass
class _LoadedSite:
    config: MkDocsConfig
    limits: BuildLimits
    site_dir_in_repo: str
    docs_dir_in_repo: str
    markdown_files: list[_SourceFile]
    other_files: list[_SourceFile]
    content_hash: str
    warnings: list[BuildIssue]
    errors: list[BuildIssue]
    log: list[str]


def _load_site(root: Path, docs_dir_rel: str, limits: BuildLimits) -> _LoadedSite:
    if not root.is_dir():
        raise BuildError(f"the docs source {str(root)!r} is not a folder")
    root_real = root.resolve()
    log: list[str] = []
    warnings: list[BuildIssue] = []
    errors: list[BuildIssue] = []

    site_rel = safe_relative_path(docs_dir_rel, what="the techdocs-ref folder")
    site_dir = _inside_root(root / site_rel, root_real, what=f"the techdocs-ref folder {site_rel!r}")
    if not site_dir.is_dir():
        raise BuildError(f"the techdocs-ref folder {site_rel!r} does not exist in the source")

    config_file = find_config_file(root / site_rel)
    config_bytes = b""
    if config_file is None:
        config = default_config()
        log.append(f"no mkdocs.yml in {site_rel!r}: using {config.docs_dir}/ with default settings")
    else:
        real_config = _inside_root(config_file, root_real, what=f"the config file {config_file.name}")
        config_bytes = _read_limited(real_config, limits.max_file_bytes, what=config_file.name)
        try:
            config_text = config_bytes.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{config_file.name} is not valid UTF-8 (bad byte at offset {exc.start})")
        config = parse_config(config_text, source=config_file.name)
        log.append(f"read {config_file.name} from {site_rel!r}")
        warnings.extend(BuildIssue(message) for message in config.warnings)

    docs_in_repo = _join(site_rel, config.docs_dir)
    docs_dir = _inside_root(root / docs_in_repo, root_real, what=f"the docs folder {docs_in_repo!r}")
    if not docs_dir.is_dir():
        raise BuildError(f"the docs folder {docs_in_repo!r} does not exist in the source")

    files = _list_files(docs_dir, root_real, limits, errors, warnings)
    markdown_files = [f for f in files if f.rel.lower().endswith(MARKDOWN_SUFFIXES)]
    other_files = [f for f in files if not f.rel.lower().endswith(MARKDOWN_SUFFIXES)]
    log.append(f"docs folder {docs_in_repo!r}: {len(markdown_files)} pages, {len(other_files)} other files")

    readable = [f for f in files if f.size <= limits.max_file_bytes]
    total = sum(f.size for f in readable) + len(config_bytes)
    if total > limits.max_total_bytes:
        raise BuildError(f"the docs folder holds {total} bytes, over the {limits.max_total_bytes} byte limit")
    for source in markdown_files:
        if source.size > limits.max_file_bytes:
            errors.append(BuildIssue(
                f"the page is {source.size} bytes, over the {limits.max_file_bytes} byte limit; skipped",
                source.rel))
    for source in readable:
        try:
            source.content = _read_limited(source.path, limits.max_file_bytes, what=source.rel)
        except BuildError as exc:
            errors.append(BuildIssue(f"{exc}; skipped", source.rel))

    return _LoadedSite(
        config=config,
        limits=limits,
        site_dir_in_repo=site_rel,
        docs_dir_in_repo=docs_in_repo,
        markdown_files=markdown_files,
        other_files=other_files,
        content_hash=_content_hash(config_bytes, files),
        warnings=warnings,
        errors=errors,
        log=log,
    )


def _join(first: str, second: str) -> str:
    parts = [part for part in (first, second) if part != "."]
    return "/".join(parts) if parts else "."


def _inside_root(path: Path, root_real: Path, *, what: str) -> Path:
    """The real path of ``path``; a BuildError when it leaves ``root_real`` (through a symlink)."""
    real = path.resolve()
    if not real.is_relative_to(root_real):
        raise BuildError(f"{what} is a symlink to a place outside the source; refused")
    return real


def _read_limited(path: Path, limit: int, *, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise BuildError(f"{what} could not be read ({exc.strerror or exc})")
    if len(data) > limit:
        raise BuildError(f"{what} is over the {limit} byte limit")
    return data


def _sort_key(name: str, is_file: bool) -> tuple[int, str, str]:
    stem = name.rsplit(".", 1)[0].lower() if is_file and name.lower().endswith(MARKDOWN_SUFFIXES) else None
    rank = _INDEX_NAMES.index(stem) if stem in _INDEX_NAMES else len(_INDEX_NAMES)
    return rank, name.lower(), name


def _list_files(
    docs_dir: Path, root_real: Path, limits: BuildLimits, errors: list[BuildIssue], warnings: list[BuildIssue]
) -> list[_SourceFile]:
    """Every regular file below ``docs_dir``: per folder, index page first, then files, then subfolders.

    Counts pages as it goes, so an oversized site fails before any file is read.
    """
    found: list[_SourceFile] = []
    markdown_count = 0
    visited = {docs_dir.resolve()}

    def visit(folder: Path, prefix: str, depth: int) -> None:
        nonlocal markdown_count
        if depth > MAX_FOLDER_DEPTH:
            errors.append(BuildIssue(f"folders nested deeper than {MAX_FOLDER_DEPTH} levels; skipped",
                                     prefix.rstrip("/")))
            return
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            errors.append(BuildIssue(f"the folder could not be listed ({exc.strerror or exc})", prefix or "."))
            return
        files: list[tuple[str, Path, int]] = []
        folders: list[tuple[str, Path]] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = prefix + entry.name
            real = Path(entry.path).resolve()
            if entry.is_symlink() and not real.is_relative_to(root_real):
                errors.append(BuildIssue("a symlink to a place outside the source; refused", rel))
                continue
            try:
                info = real.stat()
            except OSError:
                warnings.append(BuildIssue("a broken symlink or unreadable entry; skipped", rel))
                continue
            if stat.S_ISDIR(info.st_mode):
                if real not in visited:
                    visited.add(real)
                    folders.append((entry.name, real))
            elif stat.S_ISREG(info.st_mode):
                files.append((entry.name, real, info.st_size))
        files.sort(key=lambda item: _sort_key(item[0], True))
        folders.sort(key=lambda item: _sort_key(item[0], False))
        for name, real, size in files:
            rel = prefix + name
            if rel.lower().endswith(MARKDOWN_SUFFIXES):
                markdown_count += 1
                if markdown_count > limits.max_pages:
                    raise BuildError(f"the docs folder has more than {limits.max_pages} pages, the limit")
            found.append(_SourceFile(rel=rel, path=real, size=size))
            if len(found) > limits.max_files:
                raise BuildError(f"the docs folder has more than {limits.max_files} files, the limit")
        for name, real in folders:
            visit(real, f"{prefix}{name}/", depth + 1)

    visit(docs_dir.resolve(), "", 0)
    return found


def _content_hash(config_bytes: bytes, files: list[_SourceFile]) -> str:
    digest = hashlib.sha256()
    digest.update(f"causeway-techdocs {RENDERER_VERSION}\0".encode())
    digest.update(hashlib.sha256(config_bytes).digest())
    for source in sorted(files, key=lambda f: f.rel):
        digest.update(source.rel.encode("utf-8", "surrogateescape") + b"\0")
        if source.content is None:
            digest.update(f"size:{source.size}\0".encode())
        else:
            digest.update(hashlib.sha256(source.content).digest())
    return digest.hexdigest()


def _decode(source: _SourceFile, warnings: list[BuildIssue]) -> str:
    content = source.content or b""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        warnings.append(BuildIssue(
            f"not valid UTF-8 (first bad byte at offset {exc.start}); undecodable bytes were replaced", source.rel))
        text = content.decode("utf-8", errors="replace")
    # NUL and python-markdown's own placeholder markers (STX/ETX) have no place in a page.
    return text.translate({0: None, 2: None, 3: None})


class _PageTimeout(BaseException):
    # A BaseException so that no "except Exception" inside the Markdown code can swallow it.
    pass


def _page_seconds(limits: BuildLimits, elapsed: float) -> float | None:
    budgets = [limits.max_page_seconds]
    if limits.max_build_seconds is not None:
        budgets.append(max(limits.max_build_seconds - elapsed, 0.001))
    known = [budget for budget in budgets if budget is not None]
    return min(known) if known else None


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Interrupt the block after ``seconds`` with ``_PageTimeout`` where a timer signal can be used."""
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        # Someone else's timer is running: leave it alone rather than take it over.
        and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    )
    if not usable:
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise _PageTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- pages and nav ---------------------------------------------------------------------------------


def _assign_page_paths(markdown_files: list[_SourceFile], errors: list[BuildIssue]) -> dict[str, str]:
    sources = {f.rel for f in markdown_files}
    page_by_source: dict[str, str] = {}
    owner: dict[str, str] = {}
    for source in markdown_files:
        if source.content is None:
            continue
        folder, _slash, name = source.rel.rpartition("/")
        stem = name.rsplit(".", 1)[0]
        path = page_path_for(source.rel)
        # README stands for its folder unless the folder has an index page (as in MkDocs).
        if stem.lower() == "readme" and not any(
            f"{folder}/{index}".lstrip("/") in sources for index in ("index.md", "index.markdown")
        ):
            path = folder
        if path in owner:
            errors.append(BuildIssue(
                f"has the same page address {path or '/'!r} as {owner[path]!r}; skipped", source.rel))
            continue
        owner[path] = source.rel
        page_by_source[source.rel] = path
    return page_by_source


def _title_from_file_name(source: str) -> str:
    folder, _slash, name = source.rpartition("/")
    stem = name.rsplit(".", 1)[0]
    if stem.lower() in _INDEX_NAMES:
        if not folder:
            return "Home"
        stem = folder.rpartition("/")[2]
    return _title_from_name(stem)


def _title_from_name(name: str) -> str:
    title = name.replace("-", " ").replace("_", " ").strip() or name
    return title[:1].upper() + title[1:] if title.islower() else title


def _site_name_default(site: _LoadedSite) -> str:
    return _title_from_name(Path(site.site_dir_in_repo).name) if site.site_dir_in_repo != "." else "Documentation"


def _nav_from_config(
    entries: Iterable[NavEntry],
    page_by_source: dict[str, str],
    titles: dict[str, str],
    failed_sources: set[str],
    warnings: list[BuildIssue],
) -> list[NavItem]:
    items: list[NavItem] = []
    for entry in entries:
        if entry.url is not None:
            items.append(NavItem(title=entry.title or entry.url, url=entry.url))
        elif entry.file is not None:
            if entry.file in titles:
                items.append(NavItem(title=entry.title or titles[entry.file], path=page_by_source[entry.file]))
            elif entry.file not in failed_sources:
                # Pages that failed already have an error of their own; anything else is simply missing.
                label = f"{entry.title!r} " if entry.title else ""
                warnings.append(BuildIssue(
                    f"nav entry {label}points at {entry.file!r}, which is not a page in the docs folder; left out"))
        else:
            children = _nav_from_config(entry.children, page_by_source, titles, failed_sources, warnings)
            if children:
                items.append(NavItem(title=entry.title or "", children=tuple(children)))
    return items


def _nav_from_folders(sources: list[str], page_by_source: dict[str, str], titles: dict[str, str]) -> list[NavItem]:
    """One entry per page in folder order; each subfolder becomes a section."""
    tree: dict[str, Any] = {"pages": [], "folders": {}}
    for source in sources:
        node = tree
        for folder in source.split("/")[:-1]:
            node = node["folders"].setdefault(folder, {"pages": [], "folders": {}})
        node["pages"].append(source)

    def items(node: dict[str, Any]) -> list[NavItem]:
        result = [NavItem(title=titles[source], path=page_by_source[source]) for source in node["pages"]]
        for name, child in node["folders"].items():
            result.append(NavItem(title=_title_from_name(name), children=tuple(items(child))))
        return result

    return items(tree)


_DEFAULT_EDIT_URIS = {"github.com": "edit/master/docs/", "gitlab.com": "edit/master/docs/",
                      "bitbucket.org": "src/default/docs/"}


def _edit_url(config: MkDocsConfig, source: str) -> str | None:
    """``repo_url`` + ``edit_uri`` + the page's path, as MkDocs forms it."""
    if not config.repo_url:
        return None
    edit_uri = config.edit_uri
    if edit_uri is None:
        edit_uri = _DEFAULT_EDIT_URIS.get((urlsplit(config.repo_url).hostname or "").lower())
    if not edit_uri:
        return None
    if urlsplit(edit_uri).scheme:
        base = edit_uri
    else:
        base = config.repo_url.rstrip("/") + "/" + edit_uri.lstrip("/")
    if not base.endswith(("/", "=", "?", "#")):
        base += "/"
    return base + quote(source)
