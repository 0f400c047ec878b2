"""The list of templates at /create/: cards, filters by tag and owner, search and home page hooks."""

import pytest
from django.urls import reverse

from portal.extensions import home_cards, search

pytestmark = pytest.mark.django_db

INDEX = reverse("scaffolder:index")


def test_the_list_shows_a_card_per_template(alice_client, demo_templates):
    response = alice_client.get(INDEX)
    body = response.content.decode()
    assert response.status_code == 200
    for title in ("Django service", "Python library", "Documentation site"):
        assert title in body
    assert 'href="/create/default/django-service/"' in body and "Choose" in body
    assert "Owner:" in body and "recommended" in body
    assert [c["entity"].name for c in response.context["cards"]] == ["django-service", "docs-site", "python-library"]


def test_templates_filter_by_tag_and_owner(alice_client, demo_templates, add_template):
    add_template("other-team", "owner: group:default/team-b\ntype: service\nsteps: []\n")
    by_tag = alice_client.get(INDEX, {"tag": "django"}).context["cards"]
    assert [c["entity"].name for c in by_tag] == ["django-service"]
    by_owner = alice_client.get(INDEX, {"owner": "group:default/team-b"}).context["cards"]
    assert [c["entity"].name for c in by_owner] == ["other-team"]
    facets = alice_client.get(INDEX).context
    assert ("python", 2, False) in facets["tags"]
    assert any(value == "group:default/team-b" for value, *_ in facets["owners"])


def test_the_text_filter_answers_with_a_partial_for_htmx(alice_client, demo_templates):
    response = alice_client.get(INDEX, {"q": "package"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and 'data-ref="template:default/python-library"' in body
    assert 'data-ref="template:default/django-service"' not in body


def test_an_empty_catalog_says_how_to_add_templates(alice_client, org):
    assert "No software templates are registered yet" in alice_client.get(INDEX).content.decode()


def test_templates_appear_in_search_and_on_the_home_page(alice, demo_templates):
    hits = search("django", alice)
    assert any(h.url == "/create/default/django-service/" and h.category == "Software template" for h in hits)
    cards = {card.title: card.count for card in home_cards(alice)}
    assert cards["Software templates"] == 3 and cards["My template runs"] == 0


def test_a_template_entity_page_has_a_runs_tab(alice_client, demo_templates):
    response = alice_client.get("/catalog/default/template/django-service/runs/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="template-runs"' in body and 'href="/create/default/django-service/"' in body
    assert "No runs yet." in body
