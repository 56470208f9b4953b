from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PAGES = [
    "/dashboard/",
    "/dashboard/users/?q=slot",
    "/dashboard/users/1001/",
    "/dashboard/raffle/",
    "/dashboard/slots/?q=book",
    "/dashboard/slots/queue/",
    "/dashboard/gtb/",
    "/dashboard/gtb/round/",
    "/dashboard/watchtime/?viewer=slotfan",
    "/dashboard/settings/",
    "/dashboard/accounts/",
]


@pytest.mark.parametrize("path", PAGES)
def test_owner_page_renders(client: Client, owner: Any, world: Any, path: str) -> None:
    client.force_login(owner)
    response = client.get(path)
    assert response.status_code == 200, response.content[:2000]
