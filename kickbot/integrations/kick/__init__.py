"""HTTP clients for Kick (OAuth on id.kick.com, public API on api.kick.com); imports no Django app."""

from .api import AsyncKickApi, AsyncTokenProvider, KickApi, TokenProvider
from .errors import KickAuthError, KickBadResponse, KickError, KickNotSent, KickUnavailable, RateLimited
from .oauth import KickOAuth, authorize_url, pkce_challenge, pkce_pair
from .types import (
    EventSubscription,
    KickChannelInfo,
    KickLivestreamInfo,
    KickUserInfo,
    LiveScan,
    LivestreamPage,
    SentMessage,
    SubscriptionResult,
    TokenSet,
)

__all__ = [
    "AsyncKickApi",
    "AsyncTokenProvider",
    "EventSubscription",
    "KickApi",
    "KickAuthError",
    "KickBadResponse",
    "KickChannelInfo",
    "KickError",
    "KickLivestreamInfo",
    "KickNotSent",
    "KickOAuth",
    "KickUnavailable",
    "KickUserInfo",
    "LiveScan",
    "LivestreamPage",
    "RateLimited",
    "SentMessage",
    "SubscriptionResult",
    "TokenProvider",
    "TokenSet",
    "authorize_url",
    "pkce_challenge",
    "pkce_pair",
]
