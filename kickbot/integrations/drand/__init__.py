"""drand quicknet beacon client: fetch a round from HTTP relays and verify its BLS signature."""

from kickbot.integrations.drand.client import (
    QUICKNET_CHAIN_HASH,
    QUICKNET_GENESIS_TIME,
    QUICKNET_PERIOD_S,
    Beacon,
    DrandClient,
)
from kickbot.integrations.drand.errors import BeaconNotYet, BeaconUnavailable, DrandError

__all__ = [
    "QUICKNET_CHAIN_HASH",
    "QUICKNET_GENESIS_TIME",
    "QUICKNET_PERIOD_S",
    "Beacon",
    "BeaconNotYet",
    "BeaconUnavailable",
    "DrandClient",
    "DrandError",
]
