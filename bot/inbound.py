"""From a parsed WeChat message to what the handlers see: who, the dedup key, the Inbound."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wechatpy.messages import BaseMessage

from bot.protocol import ProtocolError, strip_control
from dialogs.types import Attachment, Inbound
from handlers.incoming import Incoming

_MEDIA_KINDS = {"image", "video", "shortvideo", "file", "link"}
# Events that change nothing for the citizen and get no reply (their kind for storage).
# A LOCATION event is the periodic position report, not a location the citizen sent.
_SILENT_EVENTS = {"unsubscribe": "unsubscribe", "location": "location_report"}


def _field(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ProtocolError(400, f"{name} is not text")
    return strip_control(value)


def to_incoming(message: BaseMessage) -> Incoming:
    data: dict[str, Any] = message._data
    openid = _field(data, "FromUserName")
    if not openid or len(openid) > 64:
        raise ProtocolError(400, "FromUserName missing or too long")
    try:
        created = int(_field(data, "CreateTime") or 0)
        at = datetime.fromtimestamp(created, UTC) if created > 0 else datetime.now(UTC)
    except (ValueError, OverflowError, OSError):
        raise ProtocolError(400, "CreateTime is not a timestamp") from None
    msg_type = _field(data, "MsgType").lower()

    if msg_type == "event":
        event = _field(data, "Event").lower()
        key = _field(data, "EventKey")
        dedup_key = f"event:{openid}:{created}:{event}"
        if event in ("subscribe", "subscribe_scan"):
            scene = key.removeprefix("qrscene_")
            inbound = Inbound(kind="subscribe", at=at, text=scene)
            return Incoming(openid, dedup_key, "subscribe", inbound, payload={"scene": scene})
        if event == "scan":
            inbound = Inbound(kind="scan", at=at, text=key)
            return Incoming(openid, dedup_key, "scan", inbound, payload={"scene": key})
        if event in ("click", "view"):
            inbound = Inbound(kind="menu", at=at, text=key)
            return Incoming(
                openid, dedup_key, "menu", inbound, payload={"event": event, "key": key}
            )
        kind = _SILENT_EVENTS.get(event, "event")
        return Incoming(openid, dedup_key, kind, None, payload={"event": event, "key": key})

    msg_id = _field(data, "MsgId")
    if msg_id and not msg_id.isdigit():
        raise ProtocolError(400, "MsgId is not a number")
    # A message without MsgId is still deduplicated, by sender and second.
    dedup_key = f"msg:{msg_id}" if msg_id and msg_id != "0" else f"msg:{openid}:{created}"

    if msg_type == "text":
        text = _field(data, "Content")
        return Incoming(
            openid,
            dedup_key,
            "text",
            Inbound(kind="text", at=at, text=text),
            text=text,
            wechat_msg_id=msg_id,
        )
    if msg_type == "voice":
        recognition = _field(data, "Recognition").strip()
        media_id = _field(data, "MediaId")
        inbound = Inbound(
            kind="voice",
            at=at,
            text=recognition,
            attachment=Attachment(kind="voice", media_id=media_id),
        )
        return Incoming(
            openid,
            dedup_key,
            "voice",
            inbound,
            text=recognition,
            media_id=media_id,
            wechat_msg_id=msg_id,
        )
    if msg_type == "location":
        try:
            point = (float(_field(data, "Location_X")), float(_field(data, "Location_Y")))
        except ValueError:
            raise ProtocolError(400, "location is not a pair of numbers") from None
        label = _field(data, "Label")
        inbound = Inbound(kind="location", at=at, text=label, location=point)
        return Incoming(
            openid,
            dedup_key,
            "location",
            inbound,
            text=label,
            payload={"latitude": point[0], "longitude": point[1]},
            wechat_msg_id=msg_id,
        )
    if msg_type in _MEDIA_KINDS:
        media_id = _field(data, "MediaId")
        url = _field(data, "PicUrl") or _field(data, "Url")
        title = _field(data, "Title")
        attachment = Attachment(kind=msg_type, media_id=media_id, url=url, title=title)
        inbound = Inbound(kind=msg_type, at=at, text=title, attachment=attachment)  # type: ignore[arg-type]
        return Incoming(
            openid,
            dedup_key,
            msg_type,
            inbound,
            text=title,
            media_id=media_id,
            payload={"url": url} if url else {},
            wechat_msg_id=msg_id,
        )
    inbound = Inbound(kind="unknown", at=at)
    return Incoming(
        openid,
        dedup_key,
        "unknown",
        inbound,
        payload={"msg_type": msg_type[:32]},
        wechat_msg_id=msg_id,
    )
