"""Files the pages use: served with their type and nosniff; nothing that could run script is shown inline."""

import pytest

from tests.techdocs.conftest import PNG, SVG

pytestmark = pytest.mark.django_db

SITE_URL = "/docs/default/component/payments/"


def test_an_image_is_served_inline_with_its_type_and_nosniff(alice_client, built):
    response = alice_client.get(f"{SITE_URL}img/diagram.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Disposition" not in response
    assert "sandbox" in response["Content-Security-Policy"]
    assert response.content == PNG


def test_an_svg_is_an_image_for_img_tags_but_a_download_when_opened(alice_client, built):
    response = alice_client.get(f"{SITE_URL}img/logo.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response.content == SVG


def test_an_html_file_is_only_ever_a_download(alice_client, built):
    response = alice_client.get(f"{SITE_URL}files/report.html")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="report.html"'
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_file_no_page_refers_to_is_not_served(alice_client, built, docs_repo):
    (docs_repo / "docs" / "img" / "unused.png").write_bytes(PNG)
    assert alice_client.get(f"{SITE_URL}img/unused.png").status_code == 404
    assert alice_client.get(f"{SITE_URL}mkdocs.yml").status_code == 404


def test_a_cached_file_answers_not_modified(alice_client, built):
    first = alice_client.get(f"{SITE_URL}img/diagram.png")
    again = alice_client.get(f"{SITE_URL}img/diagram.png", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
