"""The WeChat callback crypto: published vectors, wechatpy as a second implementation, and forgeries.

The vectors are those of wechatpy's own tests (tests/test_enterprise_crypto.py): token 123456,
the EncodingAESKey below, receiver wx49f0ab532d5d035a.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.messengers.wecom import envelope
from bot.messengers.wecom.crypto import CryptoError, WecomCrypto, signature

TOKEN = "123456"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
CORP = "wx49f0ab532d5d035a"
ECHO = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
ENCRYPTED = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHC"
    "rsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpX"
    "aG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQi"
    "MS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQi"
    "pvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
)
REPLY = """<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
REPLY_ENCRYPTED = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNc"
    "BqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY"
    "0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsV"
    "bwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAG"
    "VRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
)


def test_the_url_check_vector_verifies_and_decrypts() -> None:
    crypto = WecomCrypto(TOKEN, AES_KEY, CORP)
    plain = crypto.open("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374425", ECHO)
    assert plain.isdigit()  # WeChat's echostr is a random number, answered as it is


def test_a_changed_nonce_fails_the_url_check() -> None:
    crypto = WecomCrypto(TOKEN, AES_KEY, CORP)
    with pytest.raises(CryptoError, match="signature"):
        crypto.open("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374424", ECHO)


def test_the_message_vector_decrypts_to_the_published_xml() -> None:
    crypto = WecomCrypto(TOKEN, AES_KEY, CORP)
    plain = crypto.open(
        "74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903", "461056294", ENCRYPTED
    )
    assert b"<Content><![CDATA[test]]></Content>" in plain
    assert b"messense" in plain


def test_encryption_with_the_vector_random_gives_the_published_ciphertext() -> None:
    crypto = WecomCrypto(TOKEN, AES_KEY, CORP)
    encrypted = crypto.encrypt(REPLY.encode(), random=b"1234567890123456")
    assert encrypted == REPLY_ENCRYPTED
    assert signature(TOKEN, "1411525903", "461056294", encrypted) == (
        "407518b7649e86ef23978113f92d27afa9296533"
    )


@pytest.mark.parametrize("text", ["hi", "你好，我要投诉" * 40, "x" * 31, "x" * 32, "x" * 1000])
def test_wechatpy_and_ours_read_each_other(text: str) -> None:
    ours = WecomCrypto(TOKEN, AES_KEY, CORP)
    theirs = WeChatCrypto(TOKEN, AES_KEY, CORP)
    xml = f"<xml><Content><![CDATA[{text}]]></Content></xml>"
    # wechatpy encrypts (an envelope with its signature); we verify and decrypt.
    sealed = theirs.encrypt_message(xml, "nonce1", "1411525903")
    encrypted = envelope.encrypted_field(sealed.encode())
    sig = sealed.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    assert ours.open(sig, "1411525903", "nonce1", encrypted).decode() == xml
    # We encrypt; wechatpy verifies and decrypts.
    mine = ours.encrypt(xml.encode())
    body = envelope.envelope(mine, signature(TOKEN, "1411525903", "n2", mine), "1411525903", "n2")
    wrapped = body.decode().replace("<Encrypt>", "<ToUserName>x</ToUserName><Encrypt>")
    assert (
        theirs.decrypt_message(
            wrapped, signature(TOKEN, "1411525903", "n2", mine), "1411525903", "n2"
        )
        == xml
    )


def test_a_stale_or_future_timestamp_is_refused() -> None:
    crypto = WecomCrypto(TOKEN, AES_KEY, CORP)
    encrypted = crypto.encrypt(b"<xml/>")
    sent = 1_800_000_000
    sig = signature(TOKEN, str(sent), "n", encrypted)
    fresh = datetime.fromtimestamp(sent + 60, UTC)
    assert crypto.open(sig, str(sent), "n", encrypted, now=fresh) == b"<xml/>"
    for off in (601, -601):
        with pytest.raises(CryptoError, match="timestamp"):
            crypto.open(sig, str(sent), "n", encrypted, now=datetime.fromtimestamp(sent + off, UTC))


def test_a_body_for_another_corp_or_tampered_is_refused() -> None:
    other = WecomCrypto(TOKEN, AES_KEY, "ww-other-corp")
    crypto = WecomCrypto(TOKEN, AES_KEY, CORP)
    with pytest.raises(CryptoError, match="corp id"):
        crypto.decrypt(other.encrypt(b"<xml/>"))
    raw = bytearray(base64.b64decode(crypto.encrypt(b"<xml>" + b"a" * 64 + b"</xml>")))
    raw[-1] ^= 0x55  # the last block: its padding no longer reads
    with pytest.raises(CryptoError):
        crypto.decrypt(base64.b64encode(bytes(raw)).decode())
    with pytest.raises(CryptoError):
        crypto.decrypt("not base64 at all!")


def test_a_bad_aes_key_is_a_config_error_naming_the_setting() -> None:
    with pytest.raises(CryptoError, match="encoding_aes_key"):
        WecomCrypto(TOKEN, "short", CORP)


def test_xml_bombs_and_huge_bodies_are_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><xml><Encrypt>&b;</Encrypt></xml>'
    with pytest.raises(CryptoError, match="XML"):
        envelope.encrypted_field(bomb)
    with pytest.raises(CryptoError, match="larger"):
        envelope.encrypted_field(b"<xml>" + b"a" * 70_000 + b"</xml>")
