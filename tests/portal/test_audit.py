import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from portal import audit
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_it_records_who_did_what_to_which_object(alice):
    group = Group.objects.create(name="team-a")
    event = audit.record(alice, "auth.group.rename", group, before={"name": "a"}, after={"name": "team-a"})
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor == alice
    assert stored.actor_name == "alice"
    assert stored.object_type == "auth.group"
    assert stored.object_id == str(group.pk)
    assert stored.object_repr == "team-a"
    assert stored.changed_fields == ["name"]


def test_it_masks_credentials_anywhere_in_before_and_after(alice):
    event = audit.record(
        alice, "scaffolder.task.create", None,
        after={"name": "svc", "db": {"password": "hunter2", "apiToken": "abc"}, "note": "x"},
        secret_keys={"note"},
    )
    event.refresh_from_db()
    assert event.after == {"name": "svc", "db": {"password": "***", "apiToken": "***"}, "note": "***"}
    assert "hunter2" not in str(AuditEvent.objects.values_list("after", flat=True))


def test_it_names_non_user_actors():
    event = audit.record("scheduler", "catalog.refresh", None, object_type="catalog.location", object_id="7")
    assert event.actor is None and event.actor_name == "scheduler"
    assert audit.record(None, "x", None).actor_name == "system"


def test_the_audit_page_is_for_staff_only(alice_client):
    response = alice_client.get(reverse("audit-events"))
    assert response.status_code == 302
    assert "/admin/login/" in response.url


def test_staff_filter_the_audit_page(staff_client, alice, sam):
    audit.record(alice, "catalog.location.register", None, object_repr="repo-one")
    audit.record(sam, "scorecards.rule.change", None, object_repr="rule-two")
    response = staff_client.get(reverse("audit-events"), {"action": "catalog."})
    assert b"repo-one" in response.content
    assert b"rule-two" not in response.content
    response = staff_client.get(reverse("audit-events"), {"actor": "sam"}, HTTP_HX_REQUEST="true")
    assert b"rule-two" in response.content and b"repo-one" not in response.content
    assert b"<html" not in response.content  # htmx gets only the table


def test_the_trail_is_read_only_in_admin(staff_client, alice):
    event = audit.record(alice, "x.y", None, object_repr="thing")
    assert staff_client.get(reverse("admin:portal_auditevent_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:portal_auditevent_add")).status_code == 403
    response = staff_client.post(reverse("admin:portal_auditevent_delete", args=[event.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_admin_edits_of_groups_are_audited_with_before_and_after(staff_client):
    group = Group.objects.create(name="team-old")
    response = staff_client.post(
        reverse("admin:auth_group_change", args=[group.pk]), {"name": "team-new", "permissions": []}
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="auth.group.change")
    assert event.before["name"] == "team-old" and event.after["name"] == "team-new"
    assert event.actor_name == "sam"
