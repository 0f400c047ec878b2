"""TechDocs settings, each optional, read in one place.

TECHDOCS_MAX_PAGES            pages one site may have (5000)
TECHDOCS_MAX_FILE_BYTES       bytes one page or file may have (10 MB)
TECHDOCS_MAX_TOTAL_BYTES      bytes one docs folder may hold (200 MB)
TECHDOCS_MAX_BUILD_SECONDS    time one build may take (900; enforced in worker processes)
TECHDOCS_GIT_TIMEOUT          seconds for each git command (CATALOG_READ_TIMEOUT, else 60)
TECHDOCS_GIT_CACHE_DIR        where fetched repositories are kept (CATALOG_GIT_CACHE_DIR)
TECHDOCS_REBUILD_INTERVAL     seconds between rebuild-if-changed runs (read by techdocs/schedule.py)
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from catalog.reading import parse_allow_hosts

from .builder import BuildLimits


def build_limits() -> BuildLimits:
    defaults = BuildLimits()
    return BuildLimits(
        max_pages=int(getattr(settings, "TECHDOCS_MAX_PAGES", defaults.max_pages)),
        max_file_bytes=int(getattr(settings, "TECHDOCS_MAX_FILE_BYTES", defaults.max_file_bytes)),
        max_total_bytes=int(getattr(settings, "TECHDOCS_MAX_TOTAL_BYTES", defaults.max_total_bytes)),
        max_files=defaults.max_files,
        max_page_seconds=defaults.max_page_seconds,
        max_build_seconds=float(getattr(settings, "TECHDOCS_MAX_BUILD_SECONDS", defaults.max_build_seconds)),
    )


def git_timeout() -> float:
    return float(getattr(settings, "TECHDOCS_GIT_TIMEOUT", getattr(settings, "CATALOG_READ_TIMEOUT", 60)))


def git_cache_dir():
    return getattr(settings, "TECHDOCS_GIT_CACHE_DIR", getattr(settings, "CATALOG_GIT_CACHE_DIR", None))


def file_roots() -> list[str]:
    return [str(root) for root in getattr(settings, "CAUSEWAY_FILE_ROOTS", [])]


def allow_hosts() -> tuple[str, ...]:
    try:
        return parse_allow_hosts(getattr(settings, "CAUSEWAY_READ_ALLOW", "") or "")
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from exc
