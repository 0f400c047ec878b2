import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_person_signs_in_sees_the_home_page_and_signs_out(page, alice):
    page.goto("/")
    # every page needs sign-in: the portal sends us to the sign-in form
    assert "/accounts/login/" in page.url
    page.fill("#id_login", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Welcome, Alice")
    assert page.locator("nav.mainnav >> text=Catalog").is_visible()
    assert page.locator("input[name=q]").first.is_visible()

    page.click(".usermenu summary")
    page.click("[data-testid=sign-out]")
    page.wait_for_url("**/accounts/login/**")
    page.goto("/")
    assert "/accounts/login/" in page.url


def test_a_wrong_password_shows_a_message_and_stays_signed_out(page, alice):
    page.goto("/accounts/login/")
    page.fill("#id_login", "alice")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    page.wait_for_selector(".message-error")
    assert "Sign in to Causeway" in page.content()
