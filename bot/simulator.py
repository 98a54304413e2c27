"""WeChat's side of the protocol: builds, signs and encrypts what WeChat would send.

Used by `doudi chat`, the tests and the load benchmark, so that all of them speak to the
real webhook exactly as WeChat's servers do.
"""

from __future__ import annotations

import itertools
import random
import string
import time
from dataclasses import dataclass, field
from typing import Any

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

_msg_ids = itertools.count(int(time.time() * 1000) % 10**12 * 1000 + random.randrange(1000))


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def message_xml(openid: str, msg_type: str, account: str = "gh_doudi", **fields: Any) -> str:
    """A message as WeChat posts it. Events pass Event=...; others get a fresh MsgId."""
    body: dict[str, Any] = {
        "ToUserName": account,
        "FromUserName": openid,
        "CreateTime": str(fields.pop("CreateTime", int(time.time()))),
        "MsgType": msg_type,
    }
    body.update({k: str(v) for k, v in fields.items()})
    if msg_type != "event" and "MsgId" not in body:
        body["MsgId"] = str(next(_msg_ids))
    return xmltodict.unparse({"xml": body}, full_document=False)


@dataclass
class WeChatSide:
    token: str
    aes_key: str = ""
    appid: str = "wx0000000000000000"
    crypto: WeChatCrypto | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.aes_key:
            self.crypto = WeChatCrypto(self.token, self.aes_key, self.appid)

    def query(self, timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or "".join(random.choices(string.digits, k=10))
        return {"signature": sign(self.token, ts, nonce), "timestamp": ts, "nonce": nonce}

    def seal(self, xml: str, **query_overrides: str) -> tuple[dict[str, str], bytes]:
        """Query string and body for a POST, encrypted when an AES key is configured."""
        query = self.query()
        query.update(query_overrides)
        if self.crypto is None:
            return query, xml.encode("utf-8")
        envelope = self.crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
        parsed = xmltodict.parse(envelope)["xml"]
        query["encrypt_type"] = "aes"
        query["msg_signature"] = parsed["MsgSignature"]
        # WeChat's safe mode sends only ToUserName and Encrypt in the body.
        body = xmltodict.unparse(
            {"xml": {"ToUserName": "gh_doudi", "Encrypt": parsed["Encrypt"]}}, full_document=False
        )
        return query, body.encode("utf-8")

    def open_reply(self, body: str, query: dict[str, str]) -> str | None:
        """The text of the bot's reply, or None for 'success' / an empty answer."""
        if not body or body == "success":
            return None
        if self.crypto is not None and "<Encrypt>" in body:
            parsed = xmltodict.parse(body)["xml"]
            body = self.crypto.decrypt_message(
                body, parsed["MsgSignature"], parsed["TimeStamp"], parsed["Nonce"]
            )
        reply = parse_message(body)
        return getattr(reply, "content", None)
