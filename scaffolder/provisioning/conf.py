"""Provisioning settings, each optional, read in one place.

PROVISIONING_GITOPS_REPO            git remote the claims are committed to: a URL (https://, ssh://, file://)
                                    or a local path; default ``<VAR_DIR>/gitops.git``, a bare repository
                                    created on first use (a local path or file:// URL that does not exist yet
                                    is created the same way)
PROVISIONING_GITOPS_BRANCH          branch claims are committed to ("main")
PROVISIONING_GITOPS_TOKEN           token for an https remote, sent as HTTP basic auth (empty)
PROVISIONING_GITOPS_USERNAME        user name sent with the token ("x-access-token")
PROVISIONING_GIT_TIMEOUT            seconds for each git command (60)
PROVISIONING_COMMITTER_NAME         committer of the portal's commits ("Causeway Provisioning")
PROVISIONING_COMMITTER_EMAIL        ("provisioning@causeway.invalid")
PROVISIONING_CURRENCY               three-letter currency of the cost tables ("USD")
PROVISIONING_PREVIEW_BASE_DOMAIN    preview hosts are <name>.<team>.<this> ("preview.example.com")
PROVISIONING_MAX_PREVIEW_TTL        longest preview TTL anyone may ask for ("7d")
PROVISIONING_INGRESS_NAMESPACE      namespace of the ingress controller, let into team namespaces ("ingress-nginx")
PROVISIONING_CLAIM_API_GROUP        API group of the claim kinds ("platform.causeway.dev")
PROVISIONING_CLAIM_API_VERSION      their version ("v1alpha1")
PROVISIONING_EXPIRY_WARNING_HOURS   a claim this close to its expiry is flagged "expiring" (24)
PROVISIONING_EXPIRY_INTERVAL        seconds between expiry runs (900; read by schedule.py)
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .offerings import ProvisioningSettings, SettingsError
from .quotas import TTLError, parse_ttl

_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:")


def gitops_repo() -> str:
    configured = str(getattr(settings, "PROVISIONING_GITOPS_REPO", "") or "").strip()
    if not configured:
        return str(Path(settings.VAR_DIR) / "gitops.git")
    if "://" not in configured and not _SCP_LIKE.match(configured) and not configured.startswith("/"):
        # A relative path: relative to the project, never to whatever folder git happens to run in.
        return str((Path(settings.BASE_DIR) / configured).resolve())
    return configured


def local_repo_path(remote: str | None = None) -> Path | None:
    """The folder of the GitOps repository when it lives on this server (a path or file:// URL)."""
    remote = remote if remote is not None else gitops_repo()
    if remote.startswith("file://"):
        return Path(url2pathname(urlsplit(remote).path))
    if remote.startswith("/"):
        return Path(remote)
    return None


def gitops_branch() -> str:
    return str(getattr(settings, "PROVISIONING_GITOPS_BRANCH", "main") or "main")


def gitops_credentials() -> tuple[str, str]:
    """(username, token) for an https remote; the token is empty when none is configured."""
    return (
        str(getattr(settings, "PROVISIONING_GITOPS_USERNAME", "") or "x-access-token"),
        str(getattr(settings, "PROVISIONING_GITOPS_TOKEN", "") or ""),
    )


def git_timeout() -> float:
    return float(getattr(settings, "PROVISIONING_GIT_TIMEOUT", 60))


def committer() -> tuple[str, str]:
    return (
        str(getattr(settings, "PROVISIONING_COMMITTER_NAME", "Causeway Provisioning")),
        str(getattr(settings, "PROVISIONING_COMMITTER_EMAIL", "provisioning@causeway.invalid")),
    )


def expiry_warning() -> timedelta:
    return timedelta(hours=float(getattr(settings, "PROVISIONING_EXPIRY_WARNING_HOURS", 24)))


def provisioning_settings() -> ProvisioningSettings:
    defaults = ProvisioningSettings()
    raw_ttl = getattr(settings, "PROVISIONING_MAX_PREVIEW_TTL", None)
    try:
        max_ttl = parse_ttl(raw_ttl) if raw_ttl else defaults.max_preview_ttl
        return ProvisioningSettings(
            currency=getattr(settings, "PROVISIONING_CURRENCY", defaults.currency),
            preview_base_domain=getattr(settings, "PROVISIONING_PREVIEW_BASE_DOMAIN", defaults.preview_base_domain),
            max_preview_ttl=max_ttl,
            ingress_namespace=getattr(settings, "PROVISIONING_INGRESS_NAMESPACE", defaults.ingress_namespace),
            claim_api_group=getattr(settings, "PROVISIONING_CLAIM_API_GROUP", defaults.claim_api_group),
            claim_api_version=getattr(settings, "PROVISIONING_CLAIM_API_VERSION", defaults.claim_api_version),
        )
    except (SettingsError, TTLError) as exc:
        raise ImproperlyConfigured(f"provisioning settings: {exc}") from exc
