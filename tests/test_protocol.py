"""The wire protocol in isolation, including vectors computed by hand (not by wechatpy)."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.protocol import ProtocolError, WeChatProtocol, cdata_safe
from bot.simulator import message_xml

TOKEN = "doudi"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx1234567890abcdef"
NOW = 1_764_300_000


def test_signature_vector_computed_by_hand() -> None:
    # sha1 of the sorted concatenation of token, timestamp and nonce (WeChat's rule);
    # the constant below came from `printf %s 176430000042doudi | sha1sum`, not from Python
    parts = sorted([TOKEN, str(NOW), "42"])
    assert parts == ["1764300000", "42", "doudi"]
    expected = hashlib.sha1("".join(parts).encode()).hexdigest()
    assert expected == "79210d1a672a2e2a2ad2d3d934d185f47c2c1b0d"
    protocol = WeChatProtocol(TOKEN)
    query = {"signature": expected, "timestamp": str(NOW), "nonce": "42", "echostr": "hello"}
    assert protocol.verify_url(query, now=NOW) == "hello"
    with pytest.raises(ProtocolError) as refused:
        protocol.verify_url({**query, "signature": "0" * 40}, now=NOW)
    assert refused.value.status == 403


def _encrypt_by_hand(xml: str) -> str:
    """WeChat's scheme written out: AES-256-CBC, IV = key[:16], PKCS#7 to 32 bytes,
    plaintext = 16 random bytes + 4-byte big-endian length + message + AppID."""
    key = base64.b64decode(AES_KEY + "=")
    message = xml.encode()
    plain = b"0123456789abcdef" + struct.pack(">I", len(message)) + message + APPID.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def test_encrypted_vector_computed_by_hand() -> None:
    inner = message_xml("o_hand", "text", Content="你好", MsgId="1", CreateTime=NOW)
    encrypt = _encrypt_by_hand(inner)
    nonce = "777"
    msg_signature = hashlib.sha1("".join(sorted([TOKEN, str(NOW), nonce, encrypt])).encode())
    signature = hashlib.sha1("".join(sorted([TOKEN, str(NOW), nonce])).encode()).hexdigest()
    query = {
        "signature": signature,
        "timestamp": str(NOW),
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": msg_signature.hexdigest(),
    }
    body = f"<xml><ToUserName>gh</ToUserName><Encrypt>{encrypt}</Encrypt></xml>".encode()
    envelope = WeChatProtocol(TOKEN, AES_KEY, APPID).open(query, body, now=NOW)
    assert envelope.encrypted
    assert envelope.message.content == "你好"
    assert envelope.message.source == "o_hand"


def test_reply_text_with_cdata_terminator_survives() -> None:
    protocol = WeChatProtocol(TOKEN)
    query = {
        "signature": hashlib.sha1("".join(sorted([TOKEN, str(NOW), "1"])).encode()).hexdigest(),
        "timestamp": str(NOW),
        "nonce": "1",
    }
    envelope = protocol.open(query, message_xml("o_x", "text", Content="hi").encode(), now=NOW)
    from wechatpy import parse_message

    tricky = "a]]>b<c>&d"
    reply = parse_message(protocol.seal(envelope, tricky))
    assert reply.content == tricky
    assert cdata_safe("]]>") != "]]>"
