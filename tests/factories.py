from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from kickbot.models import Community

PASSWORD = "correct-horse-battery-staple"


class CommunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Community

    name = factory.Sequence(lambda n: f"Streamer {n}")
    kick_channel_slug = factory.Sequence(lambda n: f"streamer{n}")
    kick_broadcaster_user_id = factory.Sequence(lambda n: 1000 + n)
    kick_channel_id = factory.Sequence(lambda n: 2000 + n)
    kick_chatroom_id = factory.Sequence(lambda n: 3000 + n)
    discord_guild_id = factory.Sequence(lambda n: 900000000000000000 + n)
    timezone = "UTC"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            obj.save()


def raffle_open_now(community: Community, *, days: int = 20) -> None:
    """An open raffle period around now (a day back, ``days`` ahead), with the default rates."""
    from datetime import timedelta

    from django.utils import timezone

    from raffle.services.periods import period_open

    now = timezone.now()
    period_open(
        community=community,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=days),
        actor_label="t",
    )
