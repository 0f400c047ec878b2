"""Who a signed-in person is in the catalog, and what they may act on.

A portal account maps to the catalog User entity with the same name (or the same profile
email); that user's groups come from its memberOf relations. Owners are the owning group's
members (or the owning user); staff may act on everything.
"""

from __future__ import annotations

from django.db.models import Q

from .models import Entity, Relation


def user_entity(user) -> Entity | None:
    if not getattr(user, "is_authenticated", False):
        return None
    candidates = Entity.objects.filter(kind="user").filter(
        Q(name=user.get_username().lower())
        | (Q(data__spec__profile__email=user.email) if user.email else Q(pk__in=[]))
    )
    return candidates.order_by("namespace").first()


def identity_refs(user) -> set[str]:
    """The refs a person acts as: their catalog User and every Group it is a member of."""
    entity = user_entity(user)
    if entity is None:
        return set()
    groups = Relation.objects.filter(source_ref=entity.ref, type="memberOf").values_list("target_ref", flat=True)
    return {entity.ref, *groups}


def can_act(user, entity: Entity) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff:
        return True
    return bool(entity.owner_ref) and entity.owner_ref in identity_refs(user)
