"""The WeChat wire protocol, through wechatpy: signatures, AES, XML in, XML out.

Everything here is synchronous and side-effect free; the webhook decides what to do with
the result. Every way a request can be wrong ends in a ProtocolError carrying the HTTP
status to answer with, never in an unexpected exception.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import fromstring

from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage
from wechatpy.utils import check_signature

MAX_BODY_BYTES = 64 * 1024
MAX_CLOCK_SKEW_S = 300

# XML 1.0 forbids these; WeChat users can still type some of them. Stripped, not rejected.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])  # the same
# Entities can only be declared inside a DTD, so refusing DTDs refuses every entity attack.
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_DTD_TEXT = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class ProtocolError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Envelope:
    """An opened request: the message and how its reply must be sealed."""

    message: BaseMessage
    encrypted: bool
    nonce: str
    timestamp: str


def strip_control(text: str) -> str:
    return _CONTROL_CHARS.sub("", text)


def cdata_safe(text: str) -> str:
    # wechatpy wraps reply text in CDATA verbatim; a literal "]]>" would end it early.
    return text.replace("]]>", "]]]]><![CDATA[>")


class WeChatProtocol:
    def __init__(self, token: str, aes_key: str = "", appid: str = "") -> None:
        self.token = token
        self.appid = appid
        self.crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None

    def _check_query(self, query: dict[str, str], now: float | None) -> None:
        signature = query.get("signature", "")
        timestamp = query.get("timestamp", "")
        nonce = query.get("nonce", "")
        if not (signature and timestamp and nonce):
            raise ProtocolError(403, "missing signature, timestamp or nonce")
        try:
            sent_at = int(timestamp)
        except ValueError:
            raise ProtocolError(403, "timestamp is not a number") from None
        if abs((time.time() if now is None else now) - sent_at) > MAX_CLOCK_SKEW_S:
            raise ProtocolError(403, "timestamp too far from now")
        try:
            check_signature(self.token, signature, timestamp, nonce)
        except InvalidSignatureException:
            raise ProtocolError(403, "bad signature") from None

    def verify_url(self, query: dict[str, str], now: float | None = None) -> str:
        """GET: WeChat's server-address check. Answers echostr as it came."""
        self._check_query(query, now)
        return query.get("echostr", "")

    def open(self, query: dict[str, str], body: bytes, now: float | None = None) -> Envelope:
        """POST: check, decrypt (if encrypted) and parse the message."""
        if len(body) > MAX_BODY_BYTES:
            raise ProtocolError(413, "body too large")
        self._check_query(query, now)
        xml: bytes | str = self._clean(body)
        encrypted = query.get("encrypt_type", "raw").lower() == "aes"
        if encrypted:
            if self.crypto is None:
                if b"<MsgType>" not in xml:
                    raise ProtocolError(400, "encrypted message but no AES key configured")
                encrypted = False  # compatible mode: the plaintext fields are there too
            else:
                xml = self._decrypt(xml, query)
        message = self._parse(xml)
        return Envelope(message, encrypted, query["nonce"], query["timestamp"])

    def seal(self, envelope: Envelope, reply_text: str | None) -> str:
        """The HTTP answer: a text reply (encrypted if the request was), or 'success'."""
        if not reply_text:
            return "success"
        reply = create_reply(cdata_safe(reply_text), envelope.message)
        if envelope.encrypted and self.crypto is not None:
            return self.crypto.encrypt_message(reply, envelope.nonce, str(int(time.time())))
        return reply.render()

    @staticmethod
    def _clean(raw: bytes) -> bytes:
        xml = raw.translate(None, _CONTROL_BYTES)  # a fifth of the regex's time
        if _DTD.search(xml):
            raise ProtocolError(400, "DOCTYPE or entity declarations are not accepted")
        return xml

    @staticmethod
    def _clean_text(raw: str) -> str:
        xml = _CONTROL_CHARS.sub("", raw)
        if _DTD_TEXT.search(xml):
            raise ProtocolError(400, "DOCTYPE or entity declarations are not accepted")
        return xml

    def _decrypt(self, xml: bytes, query: dict[str, str]) -> str:
        assert self.crypto is not None
        msg_signature = query.get("msg_signature", "")
        if not msg_signature:
            raise ProtocolError(403, "missing msg_signature")
        try:
            # The envelope by the standard library's parser (expat, C; no DTD gets this far):
            # half the time of wechatpy's xmltodict, which it skips when given the fields.
            envelope = fromstring(xml)
            if envelope.tag != "xml":
                raise KeyError("xml")
            encrypt = (envelope.findtext("Encrypt") or "").strip()
            if not encrypt:
                raise KeyError("Encrypt")
            plaintext = self.crypto.decrypt_message(
                {"Encrypt": encrypt}, msg_signature, query["timestamp"], query["nonce"]
            )
        except InvalidSignatureException:
            raise ProtocolError(403, "bad msg_signature") from None
        except InvalidAppIdException:
            raise ProtocolError(400, "message is for another AppID") from None
        except Exception as error:  # malformed XML, missing Encrypt, bad base64 or padding
            raise ProtocolError(400, f"cannot decrypt: {type(error).__name__}") from None
        # wechatpy decrypts to text and parses text: no round trip through bytes.
        return self._clean_text(plaintext)

    @staticmethod
    def _parse(xml: bytes | str) -> BaseMessage:
        try:
            message = parse_message(xml)
        except Exception as error:  # expat errors, a missing <xml> root or MsgType
            raise ProtocolError(400, f"cannot parse XML: {type(error).__name__}") from None
        if message is None:
            raise ProtocolError(400, "empty body")
        data: dict[str, Any] = message._data
        if not isinstance(data, dict) or not isinstance(data.get("FromUserName"), str):
            raise ProtocolError(400, "FromUserName missing")
        return message
