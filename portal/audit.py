"""Record who did what to which object.

    from portal.audit import record
    record(request.user, "catalog.location.register", location, after={"target": target})

Values under keys that look like credentials are masked before they are stored, so a caller
that passes a whole form's data cannot leak a password or token into the trail.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from .models import AuditEvent

MASK = "***"
_SECRET_WORDS = ("password", "secret", "token", "api_key", "apikey", "private_key", "credential")


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _clean(value: Any, *, secrets: frozenset[str] = frozenset()) -> Any:
    """Make a value JSON-storable and mask anything credential-like."""
    if isinstance(value, dict):
        return {
            str(k): MASK if (_is_secret_key(str(k)) or str(k) in secrets) else _clean(v, secrets=secrets)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v, secrets=secrets) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _actor_name(actor: Any) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    if getattr(actor, "is_authenticated", False):
        return actor.get_username()
    return "anonymous"


def _client_ip(request: Any) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    actor: Any,
    action: str,
    obj: Any = None,
    *,
    before: Any = None,
    after: Any = None,
    message: str = "",
    request: Any = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    secret_keys: frozenset[str] | set[str] = frozenset(),
) -> AuditEvent:
    """Store one audit event. `actor` is a user, a name (e.g. "scheduler", "token:ci"), or None."""
    if obj is not None:
        meta = getattr(obj, "_meta", None)
        object_type = object_type or (meta.label_lower if meta else type(obj).__name__.lower())
        object_id = object_id or str(getattr(obj, "pk", "") or "")
        object_repr = object_repr or str(obj)
    user = actor if getattr(actor, "is_authenticated", False) else None
    secrets = frozenset(secret_keys)
    return AuditEvent.objects.create(
        actor=user,
        actor_name=_actor_name(actor)[:150],
        action=action[:100],
        object_type=object_type[:100],
        object_id=object_id[:255],
        object_repr=object_repr[:255],
        before=_clean(before, secrets=secrets),
        after=_clean(after, secrets=secrets),
        message=message,
        ip_address=_client_ip(request),
    )
