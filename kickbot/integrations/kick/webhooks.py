"""Kick webhook signatures: RSA PKCS#1 v1.5 with SHA-256 over ``"{message id}.{timestamp}.{raw body}"``."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
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


def parse_timestamp(value: str) -> datetime:
    """RFC 3339 → aware datetime; ValueError when it is not one."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("timestamp has no time zone")
    return parsed
