"""A citizen talking to the real webhook, message after message (signed, encrypted XML)."""

from __future__ import annotations

import time

from bot.simulator import message_xml
from handlers.tickets import number as tn
from tests.conftest import WeChat, new_openid

PROBLEM = "我父亲的养老金资格认证一直通不过，他瘫痪在床去不了社保窗口，跑了好几次都办不成"
# Answers to the intake's questions after the problem, in the flow's order.
ANSWERS = ["去过社保中心窗口", "说要本人到场", "鼓楼", "1", "王阿姨", "13912345678", "1"]


class Citizen:
    def __init__(self, wechat: WeChat, openid: str | None = None) -> None:
        self.wechat = wechat
        self.openid = openid or new_openid()
        # Messages a citizen types are seconds apart; the dialog merges bursts under 2 s.
        self.clock = int(time.time()) - 3600

    def xml(self, text: str) -> str:
        self.clock += 20
        return message_xml(self.openid, "text", Content=text, CreateTime=self.clock)

    async def say(self, text: str) -> str:
        reply = await self.wechat.say(self.xml(text))
        return reply or ""

    async def file_request(self) -> str:
        """The whole intake; returns the ticket number from the bot's last reply."""
        await self.say(PROBLEM)
        for answer in ANSWERS:
            await self.say(answer)
        reply = await self.say("确认")
        number = tn.find(reply)
        assert number is not None, reply
        return number
