"""Fuzzing the real webhook over HTTP (hypothesis): whatever arrives, no 5xx, the server stays
up, every citizen's dialog state stays valid, and what staff will read is stored verbatim
(escaping is the console's job, at display).

Hypothesis drives a synchronous function in a worker thread; each example posts to the app
served by the test's own event loop.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import DB_KEY
from bot.protocol import MAX_BODY_BYTES, strip_control
from bot.simulator import WeChatSide, message_xml, sign
from dialogs.config import DialogConfig
from dialogs.conversation import FORGET, step
from dialogs.text import squash
from dialogs.types import Inbound
from storage.columns import utcnow
from storage.models import Citizen, Message
from tests.conftest import AES_KEY, APPID, TOKEN
from tests.journey import ANSWERS, PROBLEM

FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ALLOWED = {200, 400, 403, 413}
PLAIN = WeChatSide(TOKEN)
SAFE = WeChatSide(TOKEN, AES_KEY, APPID)

NASTY = [
    "'; DROP TABLE citizens; --",
    "1' OR '1'='1",
    '" OR 1=1 --',
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "&lt;b&gt;already escaped&lt;/b&gt;",
    "]]>",
    "<![CDATA[",
    "&amp;",
    "\u202eevil\u202c",  # right-to-left override
    "\u200b\u200d\ufeff",  # zero-width
    "😀👨‍👩‍👧‍👦🇨🇳",
    "𠀀𪚥",  # astral CJK
    "\x00\x01\x07\x1b[31m",
    "\r\n\t",
    "${jndi:ldap://x/a}",
    "{{7*7}}",
    "%s%n%x",
    "../../etc/passwd",
    "删除我的信息",
    "人工",
    "查询 2611 2870 9721",
    "１３９１２３４５６７８",
    "13912345678",
    "350102199001011234",
]
LONG = st.builds(
    lambda unit, n: unit * n,
    st.sampled_from(["长", "😀", "a", "\u202e", "<"]),
    st.integers(9_000, 11_000),
)
TEXT = st.one_of(
    st.text(max_size=300),
    st.sampled_from(NASTY),
    st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=20)), max_size=6).map("".join),
    LONG,
)
SHORT = st.one_of(st.text(max_size=40), st.sampled_from(NASTY))


def fresh_openid() -> str:
    return "o_fuzz_" + uuid.uuid4().hex[:16]


OPENID = st.one_of(
    st.builds(fresh_openid),
    st.builds(fresh_openid),
    st.text(min_size=1, max_size=80),
)
EVENTS = ["subscribe", "unsubscribe", "SCAN", "CLICK", "VIEW", "LOCATION", "MASSSENDJOBFINISH"]


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(
        st.sampled_from(
            ["text"] * 4
            + ["voice", "image", "video", "shortvideo", "location", "link", "file", "event"]
            + ["weird"]
        )
    )
    fields: dict[str, Any] = {}
    if kind == "text":
        fields["Content"] = draw(TEXT)
    elif kind == "voice":
        fields.update(MediaId=draw(SHORT), Format="amr")
        if draw(st.booleans()):
            fields["Recognition"] = draw(TEXT)
    elif kind in ("image", "video", "shortvideo"):
        fields.update(MediaId=draw(SHORT), PicUrl=draw(SHORT), ThumbMediaId=draw(SHORT))
    elif kind == "location":
        number = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(str), SHORT)
        fields.update(
            Location_X=draw(number), Location_Y=draw(number), Scale="15", Label=draw(TEXT)
        )
    elif kind in ("link", "file"):
        fields.update(Title=draw(TEXT), Description=draw(SHORT), Url=draw(SHORT))
    elif kind == "event":
        fields.update(Event=draw(st.one_of(st.sampled_from(EVENTS), SHORT)), EventKey=draw(SHORT))
    else:
        kind = draw(st.text(min_size=1, max_size=20).filter(lambda t: t.strip()))
        fields["Content"] = draw(SHORT)
    if draw(st.integers(0, 9)) == 0:
        fields["CreateTime"] = draw(st.one_of(st.integers(-(2**70), 2**70), SHORT))
    if draw(st.integers(0, 9)) == 0:
        fields["MsgId"] = draw(st.one_of(st.integers(0, 2**70), SHORT))
    return kind, fields


def expected_text(sent: str) -> str:
    """What the transcript must hold: the text as sent, minus what XML and WeChat cannot
    carry (control characters; CR/CRLF read as LF; surrounding whitespace)."""
    text = strip_control(sent.replace("\r\n", "\n").replace("\r", "\n"))
    return text.strip()


XML_CHARS = re.compile("[\ufffe\uffff]")


def forgets(text: str) -> bool:
    """删除我的信息 deletes the transcript outside tickets, this message included."""
    return squash(expected_text(text)) in FORGET


class Fuzzer:
    """Runs coroutines on the test's loop from hypothesis's thread."""

    def __init__(self, client: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.loop = loop
        self.db = client.server.app[DB_KEY]

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=120)

    async def post(
        self, query: dict[str, str], body: bytes, method: str = "POST"
    ) -> tuple[int, str]:
        if method == "GET":
            response = await self.client.get("/wechat", params=query)
        else:
            response = await self.client.post("/wechat", params=query, data=body)
        return response.status, await response.text()

    async def send(self, side: WeChatSide, xml: str) -> tuple[int, str | None]:
        query, body = side.seal(xml)
        status, raw = await self.post(query, body)
        assert status in ALLOWED, (status, raw[:200])
        assert "Traceback" not in raw
        reply = side.open_reply(raw, query) if status == 200 else None
        return status, reply

    async def check_citizen(self, openid: str) -> None:
        async with self.db.sessions() as session:
            citizen = await session.get(Citizen, openid)
        if citizen is None:
            return
        state = json.loads(json.dumps(citizen.dialog_state, ensure_ascii=False))
        assert state == citizen.dialog_state
        # The engine accepts what it saved, for any next message.
        for probe in ("你好", "1", "上一步"):
            turn = step(state, Inbound(kind="text", at=utcnow(), text=probe), DialogConfig())
            json.dumps(turn.state)

    async def inbound_texts(self, openid: str) -> list[str]:
        async with self.db.sessions() as session:
            rows = await session.scalars(
                select(Message.text)
                .where(Message.openid == openid, Message.direction == "in")
                .order_by(Message.id)
            )
            return list(rows)

    async def healthy(self) -> None:
        response = await self.client.get("/healthz")
        assert response.status == 200, await response.text()


async def fuzz(client: Any, body: Any) -> None:
    fuzzer = Fuzzer(client, asyncio.get_running_loop())
    await asyncio.to_thread(body, fuzzer)
    await fuzzer.healthy()


# --- every message type with random field values


async def test_any_message_of_any_type(client) -> None:
    def body(fuzzer: Fuzzer) -> None:
        @settings(FUZZ, max_examples=110)
        @given(openid=OPENID, message=messages(), safe=st.booleans())
        def example(openid: str, message: tuple[str, dict[str, Any]], safe: bool) -> None:
            kind, fields = message
            xml = message_xml(openid, kind, **fields)
            status, _ = fuzzer.run(fuzzer.send(SAFE if safe else PLAIN, xml))
            if status != 200:
                return
            if openid.startswith("o_fuzz_"):
                fuzzer.run(fuzzer.check_citizen(openid))
                content = fields.get("Content", "")
                # A made-up MsgId may repeat an earlier one: that is a re-delivery, not stored.
                own_id = "MsgId" not in fields
                if (
                    kind == "text"
                    and own_id
                    and not XML_CHARS.search(content)
                    and not forgets(content)
                ):
                    stored = fuzzer.run(fuzzer.inbound_texts(openid))
                    assert stored == [expected_text(content)]

        example()

    await fuzz(client, body)


# --- conversations: commands, journey answers and garbage, in any order


async def test_any_conversation_keeps_a_valid_state(client) -> None:
    words = st.sampled_from([PROBLEM, *ANSWERS, "确认", "取消", "上一步", "人工", "查询"])

    def body(fuzzer: Fuzzer) -> None:
        @settings(FUZZ, max_examples=40)
        @given(texts=st.lists(st.one_of(words, words, TEXT), min_size=1, max_size=8))
        def example(texts: list[str]) -> None:
            openid = fresh_openid()
            clock = int(time.time()) - 600
            for text in texts:
                clock += 20
                xml = message_xml(openid, "text", Content=text, CreateTime=clock)
                fuzzer.run(fuzzer.send(PLAIN, xml))
            fuzzer.run(fuzzer.check_citizen(openid))
            stored = fuzzer.run(fuzzer.inbound_texts(openid))
            kept: list[str] = []
            for text in texts:
                if forgets(text):
                    kept = []  # 删除我的信息 deleted what came before (and itself)
                elif len(text.encode()) < MAX_BODY_BYTES - 400 and not XML_CHARS.search(text):
                    kept.append(expected_text(text))
            assert stored == kept

        example()

    await fuzz(client, body)


# --- broken, hostile and oversized bodies (correctly signed, so they reach the parser)

VALID = message_xml("o_fuzz_base", "text", Content="你好").encode()
HOSTILE = [
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;'
    b'&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'
    b'&lol2;&lol2;&lol2;&lol2;">]><xml><ToUserName>a</ToUserName><FromUserName>o</FromUserName>'
    b"<MsgType>text</MsgType><Content>&lol3;</Content></xml>",
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml>'
    b"<FromUserName>o</FromUserName><MsgType>text</MsgType><Content>&xxe;</Content></xml>",
    b'<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><xml/>',
    b'<?xml version="1.0" encoding="UTF-16"?><xml><MsgType>text</MsgType></xml>',
    b'<?xml version="1.0" encoding="GBK"?><xml><FromUserName>o</FromUserName>'
    b"<MsgType>text</MsgType><Content>\xc4\xe3\xba\xc3</Content></xml>",
    b'<?xml version="1.0" encoding="bogus"?><xml/>',
    b"<xml>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</xml>",
    b"<xml><FromUserName>o</FromUserName><MsgType>text</MsgType><Content>\xed\xa0\x80\xff"
    b"</Content></xml>",
    b"<xml><FromUserName><a>o</a></FromUserName><MsgType>text</MsgType></xml>",
    b"<xml><FromUserName>o</FromUserName><FromUserName>p</FromUserName><MsgType>text</MsgType>"
    b"</xml>",
    b"<xml><FromUserName>o</FromUserName><MsgType>text</MsgType><Content a='1'>x</Content></xml>",
    b"\xef\xbb\xbf" + VALID,
    b"\x00" * 100,
]
SNIPPETS = [
    b"<!DOCTYPE x>",
    b"&xxe;",
    b"<![CDATA[",
    b"]]>",
    b"\xff\xfe",
    b"\x00",
    b"<",
    b"&#0;",
    b"&#x1F600;",
    b"</xml>",
    b"<xml>",
    b"\xe4\xbd",
    b'"',
    b"<?xml?>",
]


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    choice = draw(st.integers(0, 4))
    if choice == 0:
        return draw(st.binary(max_size=3000))
    if choice == 1:
        return draw(st.sampled_from(HOSTILE))
    if choice == 2:  # around the size limit
        size = draw(
            st.sampled_from(
                [MAX_BODY_BYTES - 1, MAX_BODY_BYTES, MAX_BODY_BYTES + 1, MAX_BODY_BYTES * 2]
            )
        )
        head = message_xml(fresh_openid(), "text", Content="").encode()
        pad = b"a" * max(size - len(head), 0)
        return head.replace(b"<Content></Content>", b"<Content>" + pad + b"</Content>")[:size]
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.integers(0, 2))
        at = draw(st.integers(0, len(data)))
        if op == 0 and data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
        elif op == 1:
            data[at:at] = draw(st.sampled_from(SNIPPETS))
        else:
            del data[at : at + draw(st.integers(1, 20))]
    return bytes(data)


async def test_any_body_is_refused_cleanly(client) -> None:
    def body(fuzzer: Fuzzer) -> None:
        @settings(FUZZ, max_examples=80)
        @given(payload=bodies(), encrypted=st.booleans())
        def example(payload: bytes, encrypted: bool) -> None:
            query = PLAIN.query()
            if encrypted:  # a random Encrypt, correctly signed: reaches the AES layer
                encrypt = payload.decode("latin-1").replace("<", "")[:2000]
                query.update(
                    encrypt_type="aes",
                    msg_signature=sign(TOKEN, query["timestamp"], query["nonce"], encrypt),
                )
                payload = f"<xml><Encrypt>{encrypt}</Encrypt></xml>".encode("utf-8", "replace")
            status, raw = fuzzer.run(fuzzer.post(query, payload))
            assert status in ALLOWED, (status, raw[:200])
            assert "Traceback" not in raw
            if len(payload) > MAX_BODY_BYTES:
                assert status == 413

        example()

    await fuzz(client, body)


# --- random query strings and signatures

QUERY_KEYS = [
    "signature",
    "timestamp",
    "nonce",
    "msg_signature",
    "encrypt_type",
    "echostr",
    "openid",
    "",
]


@st.composite
def queries(draw: st.DrawFn) -> dict[str, str]:
    query = (
        PLAIN.query(nonce=draw(st.from_regex(r"\A[0-9]{1,12}\Z"))) if draw(st.booleans()) else {}
    )
    for _ in range(draw(st.integers(0, 5))):
        key = draw(st.one_of(st.sampled_from(QUERY_KEYS), st.text(max_size=10)))
        query[key] = draw(
            st.one_of(
                st.text(max_size=60),
                st.integers(-(10**30), 10**30).map(str),
                st.sampled_from(["aes", "AES", "raw", "", "0" * 40, str(int(time.time()))]),
            )
        )
    return query


async def test_any_query_string_is_refused_cleanly(client) -> None:
    def body(fuzzer: Fuzzer) -> None:
        @settings(FUZZ, max_examples=50)
        @given(query=queries(), method=st.sampled_from(["GET", "POST"]))
        def example(query: dict[str, str], method: str) -> None:
            status, raw = fuzzer.run(fuzzer.post(query, VALID, method))
            assert status in ALLOWED, (status, raw[:200])
            assert "Traceback" not in raw

        example()

    await fuzz(client, body)
