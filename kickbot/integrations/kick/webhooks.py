"""Kick webhook signatures: RSA PKCS#1 v1.5 with SHA-256 over ``"{message id}.{timestamp}.{raw body}"``."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .errors import KickError

# Kick's published webhook key (events/webhook-security.md in KickEngineering/KickDevDocs).
KICK_PUBLIC_KEY_PEM = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAq/+l1WnlRrGSolDMA+A8
6rAhMbQGmQ2SapVcGM3zq8ANXjnhDWocMqfWcTd95btDydITa10kDvHzw9WQOqp2
MZI7ZyrfzJuz5nhTPCiJwTwnEtWft7nV14BYRDHvlfqPUaZ+1KR4OCaO/wWIk/rQ
L/TjY0M70gse8rlBkbo2a8rKhu69RQTRsoaf4DVhDPEeSeI5jVrRDGAMGL3cGuyY
6CLKGdjVEM78g3JfYOvDU/RvfqD7L89TZ3iN94jrmWdGz34JNlEI5hqK8dd7C5EF
BEbZ5jgB8s8ReQV8H+MkuffjdAj3ajDDX3DOJMIut1lBrUVD1AaSrGCKHooWoL2e
twIDAQAB
-----END PUBLIC KEY-----
"""


class SignatureError(KickError):
    """The delivery's signature is missing, malformed or does not verify."""


@lru_cache(maxsize=8)
def load_public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the Kick webhook key must be an RSA public key")
    return key


def verify_signature(
    *, public_key_pem: str, message_id: str, timestamp: str, body: bytes, signature: str
) -> None:
    """Raise SignatureError unless ``signature`` (base64) signs this delivery."""
    if not signature or len(signature) > 2048:
        raise SignatureError("missing or oversized signature")
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("signature is not base64") from exc
    signed = f"{message_id}.{timestamp}.".encode() + body
    try:
        load_public_key(public_key_pem).verify(raw, signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise SignatureError("signature does not verify") from exc


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


def parse_timestamp(value: str) -> datetime:
    """RFC 3339 ``date-time`` → aware UTC datetime; ValueError when it is not one.

    Section 5.6 in full: ``T``/``t`` (or a space, 5.6 NOTE), ``Z``/``z`` or a numeric offset, a
    fraction of any length (kept to the microsecond), a leap second (``:60``, read as the last
    microsecond of its minute). A time without a zone is not RFC 3339.
    """
    match = _RFC3339.fullmatch(value.strip())
    if match is None:
        raise ValueError("not an RFC 3339 date-time")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zulu, sign, off_h, off_m = match.groups()[6:]
    micro = int((fraction or "0").ljust(6, "0")[:6])
    if second == 60:  # a leap second: datetime has none
        second, micro = 59, 999_999
    if zulu:
        tz = UTC
    else:
        if int(off_h) > 23 or int(off_m) > 59:
            raise ValueError("offset out of range")
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        tz = timezone(-offset if sign == "-" else offset)
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz).astimezone(UTC)
