import pytest
from django.urls import reverse

from portal import audit, extensions

pytestmark = pytest.mark.django_db


def test_home_shows_recent_activity(alice_client, alice):
    audit.record(alice, "catalog.location.register", None, object_repr="payments-repo")
    response = alice_client.get(reverse("home"))
    assert response.status_code == 200
    assert b"payments-repo" in response.content
    assert b"catalog.location.register" in response.content


def test_home_shows_a_card_for_every_app_that_offers_one(alice_client, monkeypatch):
    from django.apps import apps

    config = apps.get_app_config("catalog")
    monkeypatch.setattr(
        config, "home_cards", lambda user: [extensions.HomeCard("Components", 12, "/catalog/")], raising=False
    )
    response = alice_client.get(reverse("home"))
    assert b"Components" in response.content
    assert b"12" in response.content


def test_search_asks_every_app_and_orders_hits_by_score(alice_client, monkeypatch):
    from django.apps import apps

    monkeypatch.setattr(
        apps.get_app_config("catalog"), "search",
        lambda q, user, limit: [extensions.SearchHit(f"{q}-low", "/a", "Component", score=1)], raising=False,
    )
    monkeypatch.setattr(
        apps.get_app_config("techdocs"), "search",
        lambda q, user, limit: [extensions.SearchHit(f"{q}-high", "/b", "Docs", score=5)], raising=False,
    )
    response = alice_client.get(reverse("search"), {"q": "billing"})
    body = response.content.decode()
    assert body.index("billing-high") < body.index("billing-low")


def test_search_with_no_hits_says_so(alice_client):
    response = alice_client.get(reverse("search"), {"q": "nothing-like-this"})
    assert "Nothing matches" in response.content.decode()
