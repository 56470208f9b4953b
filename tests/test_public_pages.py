from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.parametrize(("url", "text"), [("/terms/", "Terms of Service"), ("/privacy/", "Privacy Policy")])
def test_public_pages_need_no_login(client: Client, url: str, text: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert text.encode() in response.content


def test_privacy_page_says_how_to_get_data_deleted(client: Client) -> None:
    body = client.get("/privacy/").content.decode()
    assert "forget_user" in body and "pseudonym" in body
