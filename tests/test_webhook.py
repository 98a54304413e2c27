"""The /wechat webhook over real HTTP, with real signed and encrypted XML."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from bot.app import DB_KEY
from bot.simulator import WeChatSide, message_xml
from storage.models import Citizen, Message
from tests.conftest import AES_KEY, APPID, TOKEN, WeChat, new_openid


async def stored(client, model, *where):
    db = client.server.app[DB_KEY]
    async with db.sessions() as session:
        return list(await session.scalars(select(model).where(*where)))


async def count_messages(client, openid: str, direction: str) -> int:
    db = client.server.app[DB_KEY]
    async with db.sessions() as session:
        return await session.scalar(
            select(func.count()).where(Message.openid == openid, Message.direction == direction)
        )


# --- URL verification


async def test_url_verification_echoes(client) -> None:
    query = WeChatSide(TOKEN).query()
    response = await client.get("/wechat", params={**query, "echostr": "5837397749"})
    assert response.status == 200
    assert await response.text() == "5837397749"


async def test_url_verification_wrong_signature_is_403(client) -> None:
    query = WeChatSide("another-token").query()
    response = await client.get("/wechat", params={**query, "echostr": "x"})
    assert response.status == 403
    assert "Traceback" not in await response.text()


# --- the three modes


async def test_plaintext_text_gets_menu(plain_wechat: WeChat) -> None:
    status, reply, raw = await plain_wechat.post(message_xml(new_openid(), "text", Content="你好"))
    assert status == 200
    assert "<Encrypt>" not in raw
    assert "查询进度" in reply


async def test_safe_mode_reply_is_encrypted(wechat: WeChat) -> None:
    status, reply, raw = await wechat.post(message_xml(new_openid(), "text", Content="你好"))
    assert status == 200
    assert "<Encrypt>" in raw and "查询进度" not in raw
    assert "查询进度" in reply


async def test_compatible_mode_is_decrypted_with_msg_signature(client) -> None:
    side = WeChatSide(TOKEN, AES_KEY, APPID)
    xml = message_xml(new_openid(), "text", Content="你好")
    query, _ = side.seal(xml)
    # compatible mode: plaintext fields and Encrypt side by side
    envelope = side.crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
    encrypt = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    query["msg_signature"] = envelope.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    body = xml.replace("</xml>", f"<Encrypt>{encrypt}</Encrypt></xml>")
    response = await client.post("/wechat", params=query, data=body.encode())
    assert response.status == 200
    assert "查询进度" in side.open_reply(await response.text(), query)


# --- every message type


async def test_subscribe_welcomes_and_keeps_scene(wechat: WeChat, client) -> None:
    openid = new_openid()
    xml = message_xml(openid, "event", Event="subscribe", EventKey="qrscene_gulou_hall")
    reply = await wechat.say(xml)
    assert "办不成" in reply and "查询进度" in reply
    [citizen] = await stored(client, Citizen, Citizen.openid == openid)
    assert citizen.scene == "gulou_hall" and citizen.subscribed


async def test_unsubscribe_gets_no_reply(wechat: WeChat, client) -> None:
    openid = new_openid()
    await wechat.say(message_xml(openid, "event", Event="subscribe", EventKey=""))
    status, reply, raw = await wechat.post(message_xml(openid, "event", Event="unsubscribe"))
    assert (status, reply, raw) == (200, None, "success")
    [citizen] = await stored(client, Citizen, Citizen.openid == openid)
    assert not citizen.subscribed


async def test_voice_with_recognition_is_read_as_text(wechat: WeChat, client) -> None:
    openid = new_openid()
    xml = message_xml(openid, "voice", MediaId="m1", Format="amr", Recognition="我想查询进度")
    assert await wechat.say(xml)
    [message] = await stored(client, Message, Message.openid == openid, Message.direction == "in")
    assert (message.kind, message.text, message.media_id) == ("voice", "我想查询进度", "m1")


async def test_voice_without_recognition_asks_to_type(wechat: WeChat) -> None:
    xml = message_xml(new_openid(), "voice", MediaId="m1", Format="amr", Recognition="")
    reply = await wechat.say(xml)
    assert "打字" in reply or "文字" in reply


@pytest.mark.parametrize(
    "msg_type,fields",
    [
        ("image", {"PicUrl": "http://x.invalid/a.jpg", "MediaId": "img1"}),
        ("video", {"MediaId": "vid1", "ThumbMediaId": "t1"}),
        ("shortvideo", {"MediaId": "sv1", "ThumbMediaId": "t1"}),
        ("link", {"Title": "通知", "Description": "d", "Url": "http://x.invalid"}),
        ("file", {"Title": "材料.pdf", "Description": "d", "FileKey": "k", "FileMd5": "m"}),
    ],
)
async def test_media_is_acknowledged_and_kept(wechat: WeChat, client, msg_type, fields) -> None:
    openid = new_openid()
    reply = await wechat.say(message_xml(openid, msg_type, **fields))
    assert reply and "收到" in reply
    [message] = await stored(client, Message, Message.openid == openid, Message.direction == "in")
    assert message.kind == msg_type
    assert message.conversation_id is not None


async def test_location_message_is_answered(wechat: WeChat, client) -> None:
    openid = new_openid()
    xml = message_xml(
        openid, "location", Location_X="26.08", Location_Y="119.30", Scale="15", Label="鼓楼区"
    )
    assert await wechat.say(xml)
    [message] = await stored(client, Message, Message.openid == openid, Message.direction == "in")
    assert message.payload == {"latitude": 26.08, "longitude": 119.30}


@pytest.mark.parametrize("event,key", [("CLICK", "status"), ("VIEW", "http://x.invalid/")])
async def test_menu_events_are_routed(wechat: WeChat, event: str, key: str) -> None:
    status, _reply, _raw = await wechat.post(
        message_xml(new_openid(), "event", Event=event, EventKey=key)
    )
    assert status == 200


async def test_scan_event_is_answered(wechat: WeChat) -> None:
    reply = await wechat.say(message_xml(new_openid(), "event", Event="SCAN", EventKey="hall_7"))
    assert reply


async def test_unknown_message_type_gets_a_kind_answer(wechat: WeChat) -> None:
    reply = await wechat.say(message_xml(new_openid(), "miniprogrampage", Title="x"))
    assert reply


async def test_location_report_event_is_silent(wechat: WeChat) -> None:
    xml = message_xml(
        new_openid(), "event", Event="LOCATION", Latitude="26", Longitude="119", Precision="1"
    )
    assert await wechat.post(xml) == (200, None, "success")


# --- deduplication


async def test_redelivery_gets_same_reply_and_is_stored_once(wechat: WeChat, client) -> None:
    openid = new_openid()
    xml = message_xml(openid, "text", Content="你好", MsgId="987654321")
    first = await wechat.say(xml)
    second = await wechat.say(xml)
    third = await wechat.say(xml)
    assert first == second == third
    assert await count_messages(client, openid, "in") == 1
    assert await count_messages(client, openid, "out") == 1


async def test_event_redelivery_is_keyed_by_sender_time_and_event(wechat: WeChat, client) -> None:
    openid = new_openid()
    now = int(time.time())
    xml = message_xml(openid, "event", Event="subscribe", EventKey="", CreateTime=now)
    assert await wechat.say(xml) == await wechat.say(xml)
    assert await count_messages(client, openid, "in") == 1
    later = message_xml(openid, "event", Event="subscribe", EventKey="", CreateTime=now + 1)
    await wechat.say(later)
    assert await count_messages(client, openid, "in") == 2


# --- the 5-second deadline


async def test_slow_turn_answers_success_then_replies_through_api(settings, fake_wechat) -> None:
    from dataclasses import replace

    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import build_app
    from tests.conftest import wait_for

    app = build_app(replace(settings, turn_deadline_s=0.3))
    async with TestClient(TestServer(app)) as slow_client:
        wechat = WeChat(slow_client, WeChatSide(TOKEN, AES_KEY, APPID))
        openid = new_openid()
        xml = message_xml(openid, "text", Content="你好")
        db = app[DB_KEY]
        # Hold the citizen's lock, as a long turn before this one would.
        async with db.transaction(lock_key=f"citizen:{openid}"):
            assert await wechat.post(xml) == (200, None, "success")
            # WeChat's re-delivery while the first is still in flight: also just "success".
            assert await wechat.post(xml) == (200, None, "success")
        await wait_for(lambda: fake_wechat.texts_to(openid))
        assert "查询进度" in fake_wechat.texts_to(openid)[0]
        assert await count_messages(slow_client, openid, "in") == 1
        [out] = await stored(
            slow_client, Message, Message.openid == openid, Message.direction == "out"
        )
    assert len(fake_wechat.texts_to(openid)) == 1
    assert out.text == fake_wechat.texts_to(openid)[0]


# --- bad input


async def post_raw(client, query, body: bytes):
    response = await client.post("/wechat", params=query, data=body)
    return response.status, await response.text()


async def test_body_over_64_kib_is_413(client) -> None:
    side = WeChatSide(TOKEN)
    xml = message_xml(new_openid(), "text", Content="长" * 30_000)
    status, text = await post_raw(client, side.query(), xml.encode())
    assert status == 413 and "Traceback" not in text


async def test_stale_timestamp_is_403(client) -> None:
    side = WeChatSide(TOKEN)
    query = side.query(timestamp=int(time.time()) - 301)
    status, _ = await post_raw(
        client, query, message_xml(new_openid(), "text", Content="x").encode()
    )
    assert status == 403


async def test_wrong_signature_is_403(client) -> None:
    query = WeChatSide("not-the-token").query()
    status, _ = await post_raw(
        client, query, message_xml(new_openid(), "text", Content="x").encode()
    )
    assert status == 403


async def test_wrong_msg_signature_is_403(client) -> None:
    side = WeChatSide(TOKEN, AES_KEY, APPID)
    query, body = side.seal(message_xml(new_openid(), "text", Content="x"))
    query["msg_signature"] = "0" * 40
    status, _ = await post_raw(client, query, body)
    assert status == 403


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><ToUserName>broken",
        b"not xml at all",
        b"",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><MsgType>text</MsgType>'
        b"<FromUserName>o</FromUserName><Content>&a;</Content></xml>",
        b'<!DOCTYPE xml SYSTEM "file:///etc/passwd"><xml><MsgType>text</MsgType></xml>',
        b"<xml><MsgType>text</MsgType><FromUserName>o</FromUserName><Content>&undefined;"
        b"</Content></xml>",
        b"<xml><FromUserName>o</FromUserName></xml>",
        b"<xml><MsgType>text</MsgType><FromUserName>o</FromUserName><MsgId>abc</MsgId></xml>",
        b"\xff\xfe<xml>\xc3\x28</xml>",
    ],
)
async def test_malformed_xml_is_400(client, body: bytes) -> None:
    status, text = await post_raw(client, WeChatSide(TOKEN).query(), body)
    assert status == 400, text
    assert "Traceback" not in text


async def test_undecryptable_body_is_400(client) -> None:
    side = WeChatSide(TOKEN, AES_KEY, APPID)
    query = side.query()
    encrypt = "bm90IHJlYWxseSBlbmNyeXB0ZWQ="
    from bot.simulator import sign

    query.update(
        encrypt_type="aes", msg_signature=sign(TOKEN, query["timestamp"], query["nonce"], encrypt)
    )
    body = f"<xml><ToUserName>gh</ToUserName><Encrypt>{encrypt}</Encrypt></xml>".encode()
    status, _ = await post_raw(client, query, body)
    assert status == 400


async def test_control_characters_are_stripped(plain_wechat: WeChat, client) -> None:
    openid = new_openid()
    xml = message_xml(openid, "text", Content="你好").replace("你好", "你\x01好\x1f")
    assert await plain_wechat.say(xml)
    [message] = await stored(client, Message, Message.openid == openid, Message.direction == "in")
    assert message.text == "你好"
