import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert "next=/" in response.url


def test_it_requires_sign_in_for_every_capability_page(client):
    for url in ["/catalog/", "/create/", "/docs/", "/scorecards/", "/dora/", "/search/?q=x"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("account_login")), url


def test_it_signs_in_with_a_local_account(client, alice):
    response = client.post(reverse("account_login"), {"login": "alice", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.context["user"] == alice
    assert b"Welcome, Alice" in response.content


def test_it_refuses_a_wrong_password_with_a_message(client, alice):
    response = client.post(reverse("account_login"), {"login": "alice", "password": "nope"})
    assert response.status_code == 200
    assert not response.context["user"].is_authenticated
    assert b"not correct" in response.content or b"incorrect" in response.content.lower()


def test_it_signs_out_with_a_post(alice_client):
    response = alice_client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert alice_client.get("/").status_code == 302


def test_local_sign_up_is_closed_by_default(client):
    response = client.post(
        reverse("account_signup"),
        {"username": "mallory", "email": "m@example.com", "password1": "x" * 20, "password2": "x" * 20},
    )
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="mallory").exists()
    assert response.status_code in (200, 302)


def test_anonymous_read_lets_visitors_browse_but_not_act(client, settings):
    settings.CAUSEWAY_ANONYMOUS_READ = True
    assert client.get("/").status_code == 200
    assert client.get("/catalog/").status_code == 200
    # writes and admin still need an account
    assert client.post("/search/").status_code == 302
    assert client.get("/admin/").status_code == 302


def test_staff_reach_django_admin_and_others_do_not(client, alice, sam):
    client.force_login(alice)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response.url
    client.force_login(sam)
    assert client.get("/admin/").status_code == 200


def test_the_api_reference_is_served_to_scripts_without_a_session(client):
    assert client.get("/api/schema/").status_code == 200
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"cdn." not in response.content  # served from our own static files
