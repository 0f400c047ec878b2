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


def test_single_sign_on_providers_are_switched_on_by_configuration():
    import os
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    code = "from django.conf import settings; print(sorted(settings.SOCIALACCOUNT_PROVIDERS))"
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("CAUSEWAY_GITHUB") or key.startswith("CAUSEWAY_OIDC"):
            del env[key]
    plain = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert plain.stdout.strip().splitlines()[-1] == "[]", plain.stderr
    env.update(
        CAUSEWAY_GITHUB_CLIENT_ID="gh-id", CAUSEWAY_GITHUB_CLIENT_SECRET="gh-secret",
        CAUSEWAY_OIDC_SERVER_URL="https://sso.example.com/realms/eng", CAUSEWAY_OIDC_CLIENT_ID="oidc-id",
        CAUSEWAY_OIDC_CLIENT_SECRET="oidc-secret",
    )
    configured = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert configured.stdout.strip().splitlines()[-1] == "['github', 'openid_connect']", configured.stderr


def test_the_sign_in_page_offers_each_configured_provider(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "github": {"APPS": [{"client_id": "gh-id", "secret": "gh-secret"}]},
        "openid_connect": {
            "APPS": [{
                "provider_id": "sso", "name": "Acme SSO", "client_id": "oidc-id", "secret": "s",
                "settings": {"server_url": "https://sso.example.com"},
            }]
        },
    }
    body = client.get(reverse("account_login")).content.decode()
    assert "Continue with GitHub" in body
    assert "Continue with Acme SSO" in body


def test_the_sign_in_page_hides_navigation_from_anonymous_visitors(client):
    body = client.get(reverse("account_login")).content.decode()
    assert 'class="mainnav"' not in body
