"""Staff edit scorecards, rules and initiatives in the admin: checks validated per field, every change audited."""

import json

import pytest
from django.utils import timezone

from portal.models import AuditEvent
from scorecards.models import Initiative, Level, Rule, Scorecard
from tests.scorecards.conftest import make_scorecard

pytestmark = pytest.mark.django_db

NO_INLINES = {"levels-TOTAL_FORMS": "0", "levels-INITIAL_FORMS": "0"}


def rule_form(scorecard, **overrides):
    data = {
        "scorecard": scorecard.pk,
        "level": scorecard.levels.get(name="Bronze").pk,
        "name": "Has a description",
        "description": "",
        "state": "enabled",
        "enabled_from": "",
        "check_spec": json.dumps({"type": "field_present", "path": "metadata.description"}),
        "how_to_fix": "",
        "owner": "",
    }
    data.update(overrides)
    return data


def test_a_new_scorecard_gets_default_levels_and_an_audit_record(staff_client):
    response = staff_client.post("/admin/scorecards/scorecard/add/", {
        "name": "Security", "description": "", "kinds": "Component, API", "spec_types": "", "lifecycles": "",
        "tags": "", "owners": "team-a", **NO_INLINES,
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    scorecard = Scorecard.objects.get(name="Security")
    assert scorecard.kinds == ["api", "component"] and scorecard.owners == ["group:default/team-a"]
    assert list(scorecard.levels.values_list("name", flat=True)) == ["Bronze", "Silver", "Gold"]
    assert AuditEvent.objects.filter(action="scorecards.scorecard.add", object_id=str(scorecard.pk)).exists()


def test_a_bad_owner_ref_is_a_field_error(staff_client):
    response = staff_client.post("/admin/scorecards/scorecard/add/", {
        "name": "Security", "kinds": "", "spec_types": "", "lifecycles": "", "tags": "", "owners": "team a!",
        **NO_INLINES,
    })
    assert response.status_code == 200
    assert "is not an entity reference" in response.content.decode()
    assert not Scorecard.objects.exists()


def test_a_valid_rule_is_saved_and_audited(staff_client):
    scorecard = make_scorecard()
    response = staff_client.post("/admin/scorecards/rule/add/", rule_form(scorecard))
    assert response.status_code == 302
    rule = Rule.objects.get()
    assert rule.check_spec == {"type": "field_present", "path": "metadata.description"}
    assert AuditEvent.objects.filter(action="scorecards.rule.add").exists()


@pytest.mark.parametrize(
    ("check", "messages"),
    [
        ({"type": "field_matches", "path": "metadata..name", "pattern": "(unclosed"},
         ["path: expected a key after", "pattern: is not a valid regular expression"]),
        ({"type": "teleport"}, ["type: must be one of"]),
        ({"type": "dora_threshold", "figure": "speed", "operator": "=", "value": "fast"},
         ["figure: must be one of", "operator: must be one of", "value: must be a finite number"]),
        (["not", "an", "object"], ["check must be an object"]),
    ],
)
def test_every_problem_with_a_check_is_shown_on_the_check_field(staff_client, check, messages):
    scorecard = make_scorecard()
    response = staff_client.post("/admin/scorecards/rule/add/", rule_form(scorecard, check_spec=json.dumps(check)))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["check_spec"]
    for message in messages:
        assert any(text.startswith(message) for text in errors["check_spec"]), (message, errors["check_spec"])
    assert not Rule.objects.exists()


def test_malformed_json_is_a_field_error(staff_client):
    scorecard = make_scorecard()
    response = staff_client.post("/admin/scorecards/rule/add/", rule_form(scorecard, check_spec="{nope"))
    assert response.status_code == 200 and "check_spec" in response.context["adminform"].form.errors
    assert not Rule.objects.exists()


def test_a_level_of_another_scorecard_is_refused(staff_client):
    scorecard = make_scorecard()
    other = make_scorecard(name="Other")
    response = staff_client.post("/admin/scorecards/rule/add/",
                                 rule_form(scorecard, level=other.levels.get(name="Gold").pk))
    assert response.status_code == 200
    assert "is a level of Other" in str(response.context["adminform"].form.errors["level"])
    assert not Rule.objects.exists()


def test_enabled_from_needs_a_date(staff_client):
    scorecard = make_scorecard()
    response = staff_client.post("/admin/scorecards/rule/add/", rule_form(scorecard, state="enabled_from"))
    assert "enabled_from" in response.context["adminform"].form.errors
    ok = staff_client.post("/admin/scorecards/rule/add/", rule_form(scorecard, state="enabled_from",
                                                                     enabled_from="2099-01-01"))
    assert ok.status_code == 302 and Rule.objects.get().status() == "upcoming"


def test_rules_and_levels_edited_inline_are_audited(staff_client):
    scorecard = make_scorecard()
    levels = list(scorecard.levels.all())
    data = {
        "name": scorecard.name, "description": "", "kinds": "", "spec_types": "", "lifecycles": "", "tags": "",
        "owners": "",
        "levels-TOTAL_FORMS": "3", "levels-INITIAL_FORMS": "3",
        "rules-TOTAL_FORMS": "1", "rules-INITIAL_FORMS": "0",
    }
    for index, level in enumerate(levels):
        data.update({f"levels-{index}-id": level.pk, f"levels-{index}-scorecard": scorecard.pk,
                     f"levels-{index}-name": level.name, f"levels-{index}-order": level.order,
                     f"levels-{index}-colour": "#123456" if index == 0 else level.colour})
    data.update({"rules-0-scorecard": scorecard.pk, "rules-0-name": "Owned", "rules-0-level": levels[0].pk,
                 "rules-0-state": "enabled", "rules-0-check_spec": json.dumps({"type": "owner_is_group"})})
    response = staff_client.post(f"/admin/scorecards/scorecard/{scorecard.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Level.objects.get(pk=levels[0].pk).colour == "#123456"
    assert Rule.objects.get().name == "Owned"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"scorecards.level.change", "scorecards.rule.add", "scorecards.scorecard.change"} <= actions


def test_an_initiative_needs_rules_or_a_target_of_its_own_scorecard(staff_client):
    scorecard = make_scorecard()
    other = make_scorecard(name="Other")
    base = {"name": "Push", "description": "", "scorecard": scorecard.pk, "deadline": "2099-01-01", "kinds": "",
            "spec_types": "", "lifecycles": "", "tags": "", "owners": ""}
    empty = staff_client.post("/admin/scorecards/initiative/add/", base)
    assert "Choose rules, a target level, or both." in str(empty.context["adminform"].form.errors)
    wrong = staff_client.post("/admin/scorecards/initiative/add/",
                              {**base, "target_level": other.levels.first().pk})
    assert "is not a level of" in str(wrong.context["adminform"].form.errors)
    assert not Initiative.objects.exists()
    ok = staff_client.post("/admin/scorecards/initiative/add/", {**base, "target_level": scorecard.levels.first().pk})
    assert ok.status_code == 302 and Initiative.objects.get().deadline.year == 2099
    assert AuditEvent.objects.filter(action="scorecards.initiative.add").exists()


def test_the_admin_action_evaluates_now(staff_client, catalog):
    scorecard = make_scorecard(kinds=["component"])
    response = staff_client.post("/admin/scorecards/scorecard/", {"action": "evaluate_now",
                                                                  "_selected_action": [scorecard.pk]}, follow=True)
    assert "Evaluated 3 entities" in response.content.decode()
    assert Scorecard.objects.get().last_evaluated_at <= timezone.now()


def test_non_staff_cannot_reach_the_admin(alice_client):
    assert alice_client.get("/admin/scorecards/rule/add/").status_code == 302
