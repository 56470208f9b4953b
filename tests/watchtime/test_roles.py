"""Role sync: only the difference goes to the outbox, recorded as applied in the same transaction."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from accounts.models import Link
from kickbot.errors import InvalidInput
from kickbot.models import AuditLog
from outbox.models import OutboxMessage
from tests.watchtime.conftest import kick_user
from watchtime.errors import RoleRejected
from watchtime.models import AppliedRole, WatchRole, WatchSettings, WatchTotal
from watchtime.roles import (
    DANGEROUS_MASK,
    RoleFacts,
    dangerous_permissions,
    parse_minutes,
    roles_plan,
    roles_reconcile,
    roles_revoke_for,
    roles_sync,
    watch_role_add,
    watch_role_remove,
    watch_role_set_enabled,
    watch_role_update,
    watch_roles_observe,
)

# discord.py's own flag names for the bits the service calls dangerous (issue 16's list).
DANGEROUS_FLAGS = {
    "administrator": "Administrator",
    "manage_guild": "Manage Server",
    "manage_roles": "Manage Roles",
    "manage_channels": "Manage Channels",
    "manage_webhooks": "Manage Webhooks",
    "ban_members": "Ban Members",
    "kick_members": "Kick Members",
    "moderate_members": "Timeout Members",
    "mention_everyone": "Mention @everyone",
}

BRONZE, SILVER, GOLD = 111_111_111_111_111_101, 111_111_111_111_111_102, 111_111_111_111_111_103
ALICE, BOB = 555_555_555_555_555_001, 555_555_555_555_555_002


def facts(
    role_id: int, *, position: int = 2, managed: bool = False, default: bool = False, permissions: int = 0
) -> RoleFacts:
    return RoleFacts(
        id=role_id,
        name=f"r{role_id % 1000}",
        position=position,
        managed=managed,
        is_default=default,
        bot_top_position=10,
        permissions=permissions,
    )


@pytest.fixture
def ladder(community: Any) -> Any:
    for role_id, minutes in ((BRONZE, 60), (SILVER, 600), (GOLD, 6000)):
        watch_role_add(community_id=community.pk, role=facts(role_id), minutes=minutes, actor_label="t")
    kick_user(1, "alice", ALICE)
    kick_user(2, "bob", BOB)
    kick_user(3, "carol")  # not linked: never targeted
    WatchTotal.objects.bulk_create(
        [
            WatchTotal(community=community, kick_user_id=1, minutes=700),
            WatchTotal(community=community, kick_user_id=2, minutes=30),
            WatchTotal(community=community, kick_user_id=3, minutes=9000),
        ]
    )
    return community


def outbox() -> list[tuple[str, int, int]]:
    return sorted((m.kind, int(m.target), m.payload["role_id"]) for m in OutboxMessage.objects.order_by("id"))


def test_first_run_grants_what_is_due(ladder: Any) -> None:
    roles_sync(community_id=ladder.pk)
    assert outbox() == [("discord_role_add", ALICE, BRONZE), ("discord_role_add", ALICE, SILVER)]
    msg = OutboxMessage.objects.first()
    assert msg.payload["guild_id"] == ladder.discord_guild_id
    assert set(AppliedRole.objects.values_list("discord_user_id", "discord_role_id")) == {
        (ALICE, BRONZE),
        (ALICE, SILVER),
    }


def test_second_run_without_change_enqueues_nothing(ladder: Any) -> None:
    roles_sync(community_id=ladder.pk)
    before = OutboxMessage.objects.count()
    assert roles_plan(community_id=ladder.pk) == []
    assert roles_sync(community_id=ladder.pk) == []
    assert OutboxMessage.objects.count() == before


def test_crossing_a_threshold_enqueues_exactly_the_change(ladder: Any) -> None:
    roles_sync(community_id=ladder.pk)
    OutboxMessage.objects.all().delete()
    WatchTotal.objects.filter(kick_user_id=2).update(minutes=61)

    changes = roles_sync(community_id=ladder.pk)

    assert [(c.discord_user_id, c.role_id, c.op) for c in changes] == [(BOB, BRONZE, "add")]
    assert outbox() == [("discord_role_add", BOB, BRONZE)]


def test_disabled_role_is_removed(ladder: Any) -> None:
    roles_sync(community_id=ladder.pk)
    OutboxMessage.objects.all().delete()
    watch_role_set_enabled(community_id=ladder.pk, role_id=SILVER, enabled=False, actor_label="t")

    roles_sync(community_id=ladder.pk)

    assert outbox() == [("discord_role_remove", ALICE, SILVER)]
    assert not AppliedRole.objects.filter(discord_role_id=SILVER).exists()


def test_removed_role_is_taken_off_members(ladder: Any) -> None:
    roles_sync(community_id=ladder.pk)
    OutboxMessage.objects.all().delete()
    watch_role_remove(community_id=ladder.pk, role_id=BRONZE, actor_label="t")
    roles_sync(community_id=ladder.pk)
    assert outbox() == [("discord_role_remove", ALICE, BRONZE)]


def test_highest_only_mode_keeps_just_the_top_role(ladder: Any) -> None:
    roles_sync(community_id=ladder.pk)
    OutboxMessage.objects.all().delete()
    WatchSettings.objects.filter(community=ladder).update(role_mode="highest")

    roles_sync(community_id=ladder.pk)

    assert outbox() == [("discord_role_remove", ALICE, BRONZE)]
    assert set(AppliedRole.objects.values_list("discord_role_id", flat=True)) == {SILVER}


def test_unlinking_removes_the_members_roles(ladder: Any) -> None:
    roles_sync(community_id=ladder.pk)
    OutboxMessage.objects.all().delete()
    Link.objects.filter(discord_user_id=ALICE).delete()

    assert roles_revoke_for(community_id=ladder.pk, discord_user_id=ALICE) == 2

    assert outbox() == [("discord_role_remove", ALICE, BRONZE), ("discord_role_remove", ALICE, SILVER)]
    assert roles_sync(community_id=ladder.pk) == []


def test_unlinked_member_loses_roles_on_the_next_sync_too(ladder: Any) -> None:
    roles_sync(community_id=ladder.pk)
    Link.objects.filter(discord_user_id=ALICE).delete()
    changes = roles_sync(community_id=ladder.pk)
    assert {(c.role_id, c.op) for c in changes} == {(BRONZE, "remove"), (SILVER, "remove")}


def test_reconcile_repairs_a_role_removed_by_hand_and_one_given_by_hand(ladder: Any) -> None:
    roles_sync(community_id=ladder.pk)
    OutboxMessage.objects.all().delete()
    # Discord shows: Alice lost Silver by hand; Bob was given Gold by hand; Carol's link is absent.
    roles_reconcile(community_id=ladder.pk, member_roles={ALICE: [BRONZE, 42], BOB: [GOLD]})

    roles_sync(community_id=ladder.pk)

    assert outbox() == [("discord_role_add", ALICE, SILVER), ("discord_role_remove", BOB, GOLD)]


def test_reconcile_sends_nothing_for_linked_users_who_left(ladder: Any) -> None:
    roles_reconcile(community_id=ladder.pk, member_roles={BOB: []})
    assert roles_sync(community_id=ladder.pk) == []


# --- bad input: nothing changes ---------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "message"),
    [
        (facts(7, default=True), "@everyone"),
        (facts(7, managed=True), "managed"),
        (facts(7, position=10), "at or above my highest role"),
        (facts(7, position=11), "at or above my highest role"),
        *[
            (facts(7, permissions=discord.Permissions(**{flag: True}).value), name)
            for flag, name in DANGEROUS_FLAGS.items()
        ],
        # Safe permissions plus a dangerous one are still refused.
        (
            facts(7, permissions=(discord.Permissions.text() | discord.Permissions(ban_members=True)).value),
            "Ban",
        ),
    ],
)
def test_unusable_roles_are_refused(community: Any, role: RoleFacts, message: str) -> None:
    with pytest.raises(RoleRejected, match=message):
        watch_role_add(community_id=community.pk, role=role, minutes="60", actor_label="t")
    assert not WatchRole.objects.exists()
    assert not AuditLog.objects.filter(action__startswith="watchtime.").exists()


@pytest.mark.parametrize(
    "minutes", ["-5", "abc", "", "1e3", "nan", "٣", "12.5", "5256001", "99999999999", "10y", "@everyone"]
)
def test_bad_minutes_are_refused(community: Any, minutes: str) -> None:
    with pytest.raises(InvalidInput):
        watch_role_add(community_id=community.pk, role=facts(7), minutes=minutes, actor_label="t")
    assert not WatchRole.objects.exists()


@pytest.mark.parametrize(("text", "value"), [("90", 90), ("90m", 90), ("5h", 300), ("1h30m", 90), ("0", 0)])
def test_minutes_forms(text: str, value: int) -> None:
    assert parse_minutes(text) == value


def test_duplicate_role_is_refused(community: Any) -> None:
    watch_role_add(community_id=community.pk, role=facts(7), minutes="60", actor_label="t")
    with pytest.raises(InvalidInput, match="already a watchtime role"):
        watch_role_add(community_id=community.pk, role=facts(7), minutes="90", actor_label="t")
    assert WatchRole.objects.get().minutes_required == 60


def test_unknown_role_update_remove_enable_are_refused(community: Any) -> None:
    with pytest.raises(InvalidInput, match="not a watchtime role"):
        watch_role_update(community_id=community.pk, role=facts(8), minutes="60", actor_label="t")
    with pytest.raises(InvalidInput, match="not a watchtime role"):
        watch_role_remove(community_id=community.pk, role_id=8, actor_label="t")
    with pytest.raises(InvalidInput, match="not a watchtime role"):
        watch_role_set_enabled(community_id=community.pk, role_id=8, enabled=False, actor_label="t")


def test_every_role_write_is_audited(community: Any) -> None:
    watch_role_add(community_id=community.pk, role=facts(7), minutes="60", actor_label="discord:1")
    watch_role_update(community_id=community.pk, role=facts(7), minutes="2h", actor_label="discord:1")
    watch_role_set_enabled(community_id=community.pk, role_id=7, enabled=False, actor_label="discord:1")
    watch_role_remove(community_id=community.pk, role_id=7, actor_label="discord:1")
    actions = list(AuditLog.objects.order_by("id").values_list("action", "actor_label"))
    assert actions == [
        ("watchtime.role_add", "discord:1"),
        ("watchtime.role_update", "discord:1"),
        ("watchtime.role_disable", "discord:1"),
        ("watchtime.role_remove", "discord:1"),
    ]


def test_unlink_service_takes_the_watchtime_roles_off(ladder: Any) -> None:
    from accounts.services import link_remove

    roles_sync(community_id=ladder.pk)
    OutboxMessage.objects.all().delete()
    assert link_remove(community_id=ladder.pk, discord_user_id=ALICE) is not None
    assert [o for o in outbox() if o[0] == "discord_role_remove"] == [
        ("discord_role_remove", ALICE, BRONZE),
        ("discord_role_remove", ALICE, SILVER),
    ]
    assert not AppliedRole.objects.filter(discord_user_id=ALICE).exists()


def test_the_dangerous_mask_is_exactly_discordpys_flags() -> None:
    expected = discord.Permissions(**dict.fromkeys(DANGEROUS_FLAGS, True)).value
    assert DANGEROUS_MASK == expected
    safe = discord.Permissions.text() | discord.Permissions.voice()
    safe.mention_everyone = False
    assert dangerous_permissions(safe.value) == []


def test_an_existing_role_with_a_dangerous_permission_cannot_be_updated(community: Any) -> None:
    watch_role_add(community_id=community.pk, role=facts(7), minutes="60", actor_label="t")
    with pytest.raises(RoleRejected, match="Kick Members"):
        watch_role_update(
            community_id=community.pk, role=facts(7, permissions=1 << 1), minutes="5", actor_label="t"
        )
    assert WatchRole.objects.get().minutes_required == 60


def test_a_blocked_role_is_neither_given_nor_taken_until_safe_again(ladder: Any) -> None:
    roles_sync(community_id=ladder.pk)  # alice gets bronze and silver
    assert set(AppliedRole.objects.values_list("discord_role_id", flat=True)) == {BRONZE, SILVER}

    changes = watch_roles_observe(
        community_id=ladder.pk,
        roles=[facts(SILVER, permissions=1 << 3), facts(GOLD), facts(424242, permissions=1 << 3)],
        notify_user_id=ALICE,
    )
    assert [(c.role_id, c.blocked) for c in changes] == [
        (SILVER, ["Administrator"])
    ]  # not a watch role: ignored
    WatchTotal.objects.filter(kick_user_id=1).update(minutes=7000)  # now due gold too
    planned = roles_plan(community_id=ladder.pk)
    assert [(c.role_id, c.op) for c in planned] == [(GOLD, "add")]  # silver: no add, no remove

    # Seen again unchanged: no new notice. The owner was told by DM (no link-log channel).
    watch_roles_observe(
        community_id=ladder.pk, roles=[facts(SILVER, permissions=1 << 3)], notify_user_id=ALICE
    )
    notices = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.DISCORD_MESSAGE)
    assert [(n.target, n.payload["dm"]) for n in notices] == [(str(ALICE), True)]

    watch_roles_observe(community_id=ladder.pk, roles=[facts(SILVER)], notify_user_id=ALICE)
    assert [n.payload["content"].split()[0] for n in notices.all()] == ["⚠️", "✅"]
    assert "I use it again" in notices.order_by("id").last().payload["content"]
    assert WatchRole.objects.get(discord_role_id=SILVER).blocked_permissions == 0
