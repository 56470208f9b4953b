"""Django's async-safety guard is on for the suite: the ORM refuses to run on an event loop's thread.

``DJANGO_ALLOW_ASYNC_UNSAFE`` turns that guard off for the whole process. The browser tests need it
(Playwright's sync API keeps a loop running in the test's thread) and set it in a module-scoped
fixture only (tests/browser/conftest.py). Had it leaked (set at import time, a session fixture, a
monkeypatch never undone), every async test after it would run synchronous ORM calls on the loop
unnoticed: the bug the guard exists to catch.

``tests/conftest.py`` moves this module to the end of the run, after every other module has been
collected (imported) and run, browser modules included.
"""

from __future__ import annotations

import os

import pytest
from django.core.exceptions import SynchronousOnlyOperation

from kickbot.models import Community

FLAG = "DJANGO_ALLOW_ASYNC_UNSAFE"


def test_the_flag_is_not_set_after_every_other_module() -> None:
    leaked = os.environ.get(FLAG)  # (not the whole environment in the failure)
    assert leaked is None, f"{FLAG}={leaked!r} leaked into the main run"


@pytest.mark.django_db
async def test_a_synchronous_orm_query_on_the_event_loop_is_refused() -> None:
    with pytest.raises(SynchronousOnlyOperation):
        Community.objects.count()
