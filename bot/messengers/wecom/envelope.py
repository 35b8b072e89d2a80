"""The XML of a WeCom callback: the encrypted envelope, and the kf_msg_or_event inside it.

Parsed with defusedxml: a callback URL is public, and entity expansion or external entities in
a forged body must fail cleanly rather than exhaust memory or read local files.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from bot.messengers.wecom.crypto import CryptoError

MAX_BODY = 64 * 1024  # a callback is a few hundred bytes; anything larger is not WeChat's


@dataclass(frozen=True, slots=True)
class Wakeup:
    """What a kf_msg_or_event callback says: which account has news, and a token to pull it."""

    open_kfid: str
    token: str


def _parse(body: bytes) -> Element:
    if len(body) > MAX_BODY:
        raise CryptoError(f"body of {len(body)} bytes is larger than {MAX_BODY}")
    try:
        root: Element = ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise CryptoError(f"not acceptable XML: {type(exc).__name__}") from exc
    return root


def encrypted_field(body: bytes) -> str:
    """Return the <Encrypt> text of a callback body."""
    found = _parse(body).findtext("Encrypt")
    if not found:
        raise CryptoError("no <Encrypt> in the body")
    return found.strip()


def wakeup(plain: bytes) -> Wakeup | None:
    """Return the account and token of a kf_msg_or_event; None for any other event."""
    root = _parse(plain)
    if (root.findtext("Event") or "").strip() != "kf_msg_or_event":
        return None
    return Wakeup(
        open_kfid=(root.findtext("OpenKfId") or "").strip(),
        token=(root.findtext("Token") or "").strip(),
    )


def envelope(encrypted: str, msg_signature: str, timestamp: str, nonce: str) -> bytes:
    """Return an encrypted callback body (what WeChat posts; the fake WeCom uses it)."""
    return (
        f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        f"<MsgSignature><![CDATA[{msg_signature}]]></MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
    ).encode()
