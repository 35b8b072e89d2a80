"""WeChat's callback scheme: a SHA-1 signature over sorted fields, and AES-256-CBC bodies.

The key is base64(EncodingAESKey + "="), the IV its first 16 bytes; the plaintext is 16 random
bytes, the message length (4 bytes, big-endian), the message, then the receiver id (the corp id
for WeCom), padded PKCS#7-style to 32-byte blocks. Checked against wechatpy's published vectors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from datetime import datetime

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from flows.errors import ComplaintBotError

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16
MAX_AGE = 600  # seconds: an older (or future) timestamp is a replay, not a late delivery


class CryptoError(ComplaintBotError):
    """A callback that is not from WeChat: bad signature, stale timestamp, undecryptable body."""


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """Return WeChat's msg_signature: SHA-1 of the four fields sorted and joined."""
    joined = "".join(sorted([token, timestamp, nonce, encrypted]))
    return hashlib.sha1(joined.encode()).hexdigest()


class WecomCrypto:
    """Verify, decrypt and encrypt callback bodies for one receiver (the corp id)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("encoding_aes_key: expected 43 base64 characters") from exc
        if len(key) != 32:
            raise CryptoError(
                f"encoding_aes_key: expected 43 characters (32 bytes), got {len(encoding_aes_key)}"
            )
        self.token = token
        self.receive_id = receive_id
        self._key = key

    def verify(
        self,
        msg_signature: str,
        timestamp: str,
        nonce: str,
        encrypted: str,
        now: datetime | None = None,
    ) -> None:
        """Raise CryptoError unless the signature matches (and, given `now`, is fresh)."""
        expected = signature(self.token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected.encode(), msg_signature.lower().encode()):
            raise CryptoError("msg_signature does not match")
        if now is not None:
            try:
                sent = int(timestamp)
            except ValueError as exc:
                raise CryptoError(f"timestamp: expected seconds, got {timestamp[:20]!r}") from exc
            if abs(now.timestamp() - sent) > MAX_AGE:
                raise CryptoError(f"timestamp {sent} is more than {MAX_AGE} s from now")

    def decrypt(self, encrypted: str) -> bytes:
        """Return the message inside an encrypted field (CryptoError if it is not ours)."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("not base64") from exc
        if not data or len(data) % 16:
            raise CryptoError("not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise CryptoError("too short")
        (length,) = struct.unpack(">I", plain[16:20])
        message, receiver = plain[20 : 20 + length], plain[20 + length :]
        if len(message) != length or not hmac.compare_digest(receiver, self.receive_id.encode()):
            raise CryptoError("not addressed to this corp id")
        return message

    def encrypt(self, message: bytes, random: bytes | None = None) -> str:
        """Return `message` encrypted for this receiver, base64 (random: for test vectors)."""
        head = os.urandom(16) if random is None else random
        plain = head + struct.pack(">I", len(message)) + message + self.receive_id.encode()
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def open(
        self,
        msg_signature: str,
        timestamp: str,
        nonce: str,
        encrypted: str,
        now: datetime | None = None,
    ) -> bytes:
        """Verify then decrypt: the body of a callback, or CryptoError."""
        self.verify(msg_signature, timestamp, nonce, encrypted, now)
        return self.decrypt(encrypted)

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))
