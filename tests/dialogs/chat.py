"""A tiny script player for the pure engine: send messages, feed effect results back, assert."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dialogs.config import DialogConfig
from dialogs.conversation import step
from dialogs.effects import FileTicket, ListTickets, LookupTicket, SearchCases
from dialogs.types import Attachment, Effect, Inbound
from handlers.tickets import number as tn

START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
TRADITIONAL = set("們個這說請確認號碼裡為與無會進詢電話區縣別嗎麼處讓點還開關聯繫業題")
CJK = re.compile(r"[\u4e00-\u9fff]")

Responder = Callable[[Effect], dict[str, Any] | None]


def no_cases(effect: SearchCases) -> dict[str, Any]:
    return {"type": "cases", "decision": "none", "cases": []}


def filed(effect: FileTicket) -> dict[str, Any]:
    return {"type": "ticket_filed", "number": tn.make_number(date(2026, 11, 28), 41, "k")}


def no_tickets(effect: ListTickets) -> dict[str, Any]:
    return {"type": "tickets", "items": []}


def lookup(effect: LookupTicket) -> dict[str, Any]:
    if effect.phone_last4 is None:
        return {"type": "ticket_status", "outcome": "need_phone", "ticket": None}
    if effect.phone_last4 != "5678":
        return {"type": "ticket_status", "outcome": "denied", "ticket": None}
    return {
        "type": "ticket_status",
        "outcome": "shown",
        "ticket": {
            "number": effect.number,
            "status": "in_progress",
            "centre": "鼓楼区",
            "updated": "2026-11-29T10:00:00+08:00",
            "progress": [{"at": "2026-11-28T15:00:00+08:00", "text": "已转民政局办理"}],
            "replies": [{"at": "2026-11-29T10:00:00+08:00", "text": "已联系社区，请等候通知"}],
            "phone": "13912345678",
            "description": "SECRET DESCRIPTION",
        },
    }


@dataclass
class Chat:
    config: DialogConfig = field(default_factory=DialogConfig)
    responders: dict[type, Responder] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    now: datetime = START
    replies: list[str] = field(default_factory=list)  # of the last send
    effects: list[Effect] = field(default_factory=list)  # of the last send
    transcript: list[tuple[str, str]] = field(default_factory=list)
    strict: bool = True  # every non-silent reply is checked for length and script

    def __post_init__(self) -> None:
        defaults = {
            SearchCases: no_cases,
            FileTicket: filed,
            ListTickets: no_tickets,
            LookupTicket: lookup,
        }
        self.responders = {**defaults, **self.responders}

    # -- sending

    def send(self, text: str = "", kind: str = "text", gap: float = 20, **kw: Any) -> str:
        self.now += timedelta(seconds=gap)
        shown = text or f"[{kind}]"
        self.transcript.append(("市民", shown))
        return self.play(Inbound(kind=kind, at=self.now, text=text, **kw))

    def image(self, gap: float = 20) -> str:
        return self.send(kind="image", gap=gap, attachment=Attachment("image", media_id="m1"))

    def voice(self, text: str, gap: float = 20) -> str:
        return self.send(text, kind="voice", gap=gap, attachment=Attachment("voice", "v1"))

    def timer(self, name: str, after: timedelta) -> str:
        self.now += after
        return self.play(Inbound(kind="timer", at=self.now, text=name))

    def play(self, inbound: Inbound) -> str:
        self.replies, self.effects = [], []
        queue = [inbound]
        while queue:
            given = copy.deepcopy(self.state)
            turn = step(self.state, queue.pop(0), self.config)
            assert self.state == given, "step changed the state it was given"
            dumped = json.dumps(turn.state, ensure_ascii=False)
            self.state = json.loads(dumped)  # the state must survive a JSON round trip
            assert self.state == turn.state
            self.replies += list(turn.replies)
            self.effects += list(turn.effects)
            for effect in turn.effects:
                responder = self.responders.get(type(effect))
                if responder is not None:
                    result = responder(effect)
                    if result is not None:
                        queue.append(Inbound(kind="result", at=self.now, result=result))
        text = "\n".join(self.replies)
        for reply in self.replies:
            assert reply.strip(), "empty reply"
            if self.strict:
                check_reply(reply)
        if text:
            self.transcript.append(("兜底", text))
        return text

    # -- looking at what happened

    def effect(self, kind: type) -> Any:
        found = [e for e in self.effects if isinstance(e, kind)]
        assert found, f"no {kind.__name__} in {self.effects}"
        return found[-1]

    def has(self, kind: type) -> bool:
        return any(isinstance(e, kind) for e in self.effects)

    @property
    def intake(self) -> dict[str, Any] | None:
        return self.state.get("intake")

    @property
    def values(self) -> dict[str, Any]:
        return (self.intake or {}).get("values", {})

    @property
    def current(self) -> str | None:
        return (self.intake or {}).get("current")


def check_reply(reply: str) -> None:
    assert CJK.search(reply), reply
    assert not (TRADITIONAL & set(reply)), f"traditional characters in {reply!r}"
    limit = 450 if ("请核对" in reply or "【" in reply) else 300
    assert len(reply) < limit, f"{len(reply)} chars: {reply}"


PROBLEM = "我想给我妈办残疾证，社区说要去医院鉴定，医院又说要社区先开证明"

ANSWERS = {
    "request": PROBLEM,
    "visited": "去过社区和区残联",
    "reason": "不清楚",
    "centre": "鼓楼",
    "applicant_type": "1",
    "company": "福州某某科技有限公司",
    "name": "王阿姨",
    "phone": "13912345678",
    "consent": "1",
}
ORDER = list(ANSWERS)


def reach(chat: Chat, target: str, answers: dict[str, str] | None = None) -> Chat:
    """Drive a fresh chat until the bot asks `target` ("confirm" for the read-back)."""
    answers = {**ANSWERS, **(answers or {})}
    if target == "company":
        answers["applicant_type"] = "2"
    chat.send("1")
    for _ in range(20):
        intake = chat.intake
        assert intake is not None
        if target == "confirm" and intake["stage"] == "confirm":
            return chat
        if intake["stage"] == "field" and intake["current"] == target:
            return chat
        chat.send(answers[intake["current"]])
    raise AssertionError(f"never reached {target}")
