"""The hunt's dashboard pages: keyboard entry, refusals that change nothing, history and CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client

from hunts.models import Hunt, HuntBonus
from hunts.services import hunt_bonus_add, hunt_bonus_result, hunt_finish, hunt_opening_begin, hunt_start
from kickbot.models import AuditLog
from slots.catalogue import slots_import
from slots.matching import name_cache
from tests.factories import CommunityFactory

pytestmark = pytest.mark.django_db

BAD_MONEY = ["junk", "-5", "nan", "inf", "1e3", "9" * 40, "99999999999", "1.234", "@everyone", "💰", "1,50"]


def snapshot() -> tuple[Any, ...]:
    return (
        list(Hunt.objects.values().order_by("id")),
        list(HuntBonus.objects.values().order_by("id")),
        AuditLog.objects.filter(action__startswith="hunt.").count(),
    )


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def finished_hunt(community: Any, title: str = "Friday") -> int:
    view = hunt_start(community_id=community.pk, title=title, start_balance_cents=100_00, actor_label="t")
    hunt_bonus_add(community_id=community.pk, slot_name='=HYPERLINK("x")', bet_cents=1_00, actor_label="t")
    hunt_bonus_add(
        community_id=community.pk, slot_name="Le Bandit", bet_cents=0, cost_cents=50_00, actor_label="t"
    )
    hunt_opening_begin(community_id=community.pk, actor_label="t")
    hunt_bonus_result(community_id=community.pk, win_cents=250_50, actor_label="t")
    hunt_bonus_result(community_id=community.pk, win_cents=0, actor_label="t")
    hunt_finish(community_id=community.pk, actor_label="t")
    return view.id


def test_viewer_sees_the_hunt_but_no_controls(client: Client, community: Any, viewer: Any) -> None:
    hunt_start(community_id=community.pk, title="Friday", start_balance_cents=0, actor_label="t")
    hunt_bonus_add(community_id=community.pk, slot_name="<script>x</script>", bet_cents=1_00, actor_label="t")
    client.force_login(viewer)
    body = client.get("/dashboard/hunts/").content.decode()
    assert "Friday" in body and "&lt;script&gt;x&lt;/script&gt;" in body and "<script>x" not in body
    assert "/dashboard/hunts/add/" not in body and "/dashboard/hunts/start/" not in body


def test_moderator_keyboard_flow(client: Client, community: Any, moderator: Any) -> None:
    client.force_login(moderator)
    body = client.get("/dashboard/hunts/").content.decode()
    assert 'name="start_balance"' in body and "autofocus" in body
    response = client.post(
        "/dashboard/hunts/start/",
        {"title": "Friday", "start_balance": "$1,000", "currency": "GBP"},
        follow=True,
    )
    assert messages_of(response) == ["Hunt started: Friday."]
    body = response.content.decode()
    assert 'id="slot"' in body and 'list="slot-options"' in body
    client.post("/dashboard/hunts/add/", {"slot": "Sweet Bonanza", "bet": "2", "cost": "", "notes": ""})
    client.post("/dashboard/hunts/add/", {"slot": "Le Bandit", "bet": "0.40", "cost": "80", "notes": "buy"})
    response = client.post("/dashboard/hunts/open/", follow=True)
    body = response.content.decode()
    assert "Win of #1 Sweet Bonanza" in body and 'id="win"' in body
    assert "break-even <strong>450x</strong>" in body  # (£1,000 + £80) / £2.40
    response = client.post("/dashboard/hunts/result/", {"win": "100"}, follow=True)
    assert messages_of(response) == ["Win £100 entered."]
    assert "Win of #2 Le Bandit" in response.content.decode()  # the next one, in order
    client.post("/dashboard/hunts/result/", {"win": "0"}, follow=True)
    client.post("/dashboard/hunts/result/", {"win": "120", "position": "#1"}, follow=True)  # a correction
    response = client.post("/dashboard/hunts/finish/", follow=True)
    assert messages_of(response) == ["Hunt finished: profit -£960."]
    hunt = Hunt.objects.get()
    assert (hunt.status, hunt.currency) == ("finished", "GBP")
    assert list(HuntBonus.objects.values_list("win_cents", flat=True).order_by("position")) == [120_00, 0]
    body = response.content.decode()
    assert "No hunt running" in body and f"/dashboard/hunts/{hunt.pk}/" in body


def test_remove_takes_a_bonus_out(client: Client, community: Any, moderator: Any) -> None:
    hunt_start(community_id=community.pk, title="F", start_balance_cents=0, actor_label="t")
    hunt_bonus_add(community_id=community.pk, slot_name="a", bet_cents=1, actor_label="t")
    client.force_login(moderator)
    response = client.post("/dashboard/hunts/remove/", {"position": "1"}, follow=True)
    assert messages_of(response) == ["Bonus #1 removed."]
    assert not HuntBonus.objects.exists()


@pytest.mark.parametrize("bad", BAD_MONEY)
def test_bad_money_in_every_form_is_refused_and_changes_nothing(
    client: Client, community: Any, moderator: Any, bad: str
) -> None:
    client.force_login(moderator)
    response = client.post("/dashboard/hunts/start/", {"title": "x", "start_balance": bad}, follow=True)
    assert messages_of(response)[0].startswith("Start balance: ")
    assert snapshot() == ([], [], 0)
    hunt_start(community_id=community.pk, title="F", start_balance_cents=0, actor_label="t")
    before = snapshot()
    for form, prefix in (
        ({"slot": "a", "bet": bad}, "Bet: "),
        ({"slot": "a", "bet": "1", "cost": bad}, "Cost: "),
    ):
        response = client.post("/dashboard/hunts/add/", form, follow=True)
        assert messages_of(response)[0].startswith(prefix)
    assert snapshot() == before
    hunt_bonus_add(community_id=community.pk, slot_name="a", bet_cents=1, actor_label="t")
    hunt_opening_begin(community_id=community.pk, actor_label="t")
    before = snapshot()
    response = client.post("/dashboard/hunts/result/", {"win": bad}, follow=True)
    assert messages_of(response)[0].startswith("Win: ")
    assert snapshot() == before


@pytest.mark.parametrize("bad", ["0", "-1", "x", "1.5", "@everyone", "１", "9999999", "nan", " "])
def test_bad_bonus_numbers_are_refused(client: Client, community: Any, moderator: Any, bad: str) -> None:
    hunt_start(community_id=community.pk, title="F", start_balance_cents=0, actor_label="t")
    hunt_bonus_add(community_id=community.pk, slot_name="a", bet_cents=1, actor_label="t")
    client.force_login(moderator)
    before = snapshot()
    response = client.post("/dashboard/hunts/remove/", {"position": bad}, follow=True)
    assert messages_of(response) == ["Give the bonus number, like 3."]
    hunt_opening_begin(community_id=community.pk, actor_label="t")
    before = snapshot()
    if bad.strip():  # a blank number means "the next bonus"
        response = client.post("/dashboard/hunts/result/", {"win": "1", "position": bad}, follow=True)
        assert messages_of(response) == ["Give the bonus number, like 3."]
    assert snapshot() == before


@pytest.mark.parametrize(
    "form,message",
    [
        ({"title": "t" * 101, "start_balance": "1"}, "Keep the title under 100 characters."),
        ({"title": "t" * 5000, "start_balance": "1"}, "Keep the title under 100 characters."),
        (
            {"title": "x", "start_balance": "1", "currency": "@everyone"},
            "Pick a currency of USD, EUR, GBP, CAD, AUD.",
        ),
        ({"title": "x", "start_balance": ""}, "Start balance: Add an amount, like 1500 or 1.5k."),
    ],
)
def test_bad_start_forms(
    client: Client, community: Any, moderator: Any, form: dict[str, str], message: str
) -> None:
    client.force_login(moderator)
    response = client.post("/dashboard/hunts/start/", form, follow=True)
    assert messages_of(response) == [message]
    assert snapshot() == ([], [], 0)


@pytest.mark.parametrize(
    "slot,message", [("", "Name the slot."), ("\u200b\u202e", "Name the slot."), ("s" * 101, "under 100")]
)
def test_bad_slot_names(client: Client, community: Any, moderator: Any, slot: str, message: str) -> None:
    hunt_start(community_id=community.pk, title="F", start_balance_cents=0, actor_label="t")
    client.force_login(moderator)
    before = snapshot()
    response = client.post("/dashboard/hunts/add/", {"slot": slot, "bet": "1"}, follow=True)
    assert message in messages_of(response)[0]
    assert snapshot() == before


def test_state_refusal_is_shown(client: Client, community: Any, moderator: Any) -> None:
    client.force_login(moderator)
    response = client.post("/dashboard/hunts/finish/", follow=True)
    assert messages_of(response) == ["There is no bonus hunt running."]


def test_slot_options_offer_catalogue_names(client: Client, community: Any, viewer: Any) -> None:
    name_cache.invalidate()
    slots_import(rows=[{"name": "Sweet Bonanza", "provider": "Pragmatic"}], source="json")
    client.force_login(viewer)
    body = client.get("/dashboard/hunts/slots/", {"slot": "sweet bon"}).content.decode()
    assert '<option value="Sweet Bonanza">' in body
    assert client.get("/dashboard/hunts/slots/", {"slot": ""}).content.decode().strip() == ""


def test_history_detail_and_csv(client: Client, community: Any, viewer: Any) -> None:
    hunt_id = finished_hunt(community)
    client.force_login(viewer)
    body = client.get("/dashboard/hunts/").content.decode()
    assert "Friday" in body and "$100.50" in body  # profit: 250.50 - (100 + 50)
    detail = client.get(f"/dashboard/hunts/{hunt_id}/").content.decode()
    assert "250.5x" in detail and "Le Bandit" in detail

    response = client.get("/dashboard/hunts/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["id", "title", "currency"]
    assert rows[1][1] == "Friday" and rows[1][5:12] == [
        "2",
        "100.00",
        "150.00",
        "250.50",
        "100.50",
        "250.5",
        "250.5",
    ]
    assert rows[1][12] == '\'=HYPERLINK("x")'  # a formula is text in a spreadsheet

    rows = list(
        csv.reader(io.StringIO(client.get(f"/dashboard/hunts/{hunt_id}/export.csv").content.decode()))
    )
    assert rows == [
        ["position", "slot", "bet", "cost", "win", "x", "notes"],
        ["1", '\'=HYPERLINK("x")', "1.00", "", "250.50", "250.5", ""],
        ["2", "Le Bandit", "0.00", "50.00", "0.00", "", ""],
    ]


def test_another_communitys_hunt_is_not_found(client: Client, community: Any, viewer: Any) -> None:
    other = CommunityFactory()
    hunt_id = finished_hunt(other)
    client.force_login(viewer)
    assert client.get(f"/dashboard/hunts/{hunt_id}/").status_code == 404
    assert client.get(f"/dashboard/hunts/{hunt_id}/export.csv").status_code == 404
