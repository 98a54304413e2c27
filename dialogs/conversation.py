"""The conversation engine: `step(state, inbound, config) -> Turn`. Pure: no I/O, no clock.

The state is a JSON-serialisable dict (see `initial_state` and docs/dialogs.md). The intake form
itself is data (dialogs.flows); this module only walks it: ask what is missing, parse the
answer, pick up anything else a message mentions, read back, file.

A step never changes the state it is given, and the state it returns shares whatever the
step left alone with it (copy-on-write, see `_Engine._own`): neither may be changed in place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from dialogs import messages as m
from dialogs import render
from dialogs.config import DialogConfig
from dialogs.effects import (
    CancelTimers,
    CaseFeedback,
    FileTicket,
    ForgetMe,
    ListTickets,
    LookupTicket,
    Push,
    SearchCases,
    SetTimer,
)
from dialogs.flows import Field, Flow
from dialogs.text import clean, content_len, digits_only, join_answer, nfkc, short, squash
from dialogs.types import Attachment, Effect, Inbound, Turn
from dialogs.validators import letters, nearest_centre
from handlers.tickets import number as tn

STATE_VERSION = 1

# ------------------------------------------------------------------ words that steer

BACK = {"上一步", "返回", "上一个", "返回上一步", "回到上一步", "退回", "上一题"}
CANCEL = {"取消", "不办了", "退出", "取消登记", "不登记了", "算了不办了"}
RESTART = {"重新开始", "重来", "重新登记", "重新填", "从头开始", "重新填写"}
HELP = {"帮助", "怎么用", "使用说明", "说明", "help"}
FORGET = {
    "删除我的信息",
    "删除我的资料",
    "删除我的数据",
    "删除个人信息",
    "删除我的个人信息",
    "清除我的信息",
    "删掉我的信息",
}
HUMAN = {"人工", "转人工", "人工服务", "找人工", "人工客服", "真人", "找工作人员"}
STATUS_PREFIXES = ("查询进度", "查进度", "查询", "进度", "查单", "查")
STATUS_FILLERS = (
    "受理号",
    "单号",
    "号码",
    "编号",
    "一下",
    "我的",
    "进度",
    "办得",
    "怎么样了",
    "怎么样",
    "到哪了",
    "的",
    "是",
    ":",
)
GREETINGS = {
    "你好",
    "您好",
    "在吗",
    "在不在",
    "hi",
    "hello",
    "嗨",
    "早上好",
    "下午好",
    "晚上好",
    "喂",
    "有人吗",
    "你好啊",
    "您好啊",
    "哈喽",
}
THANKS = {"谢谢", "谢谢你", "谢谢您", "多谢", "好的谢谢", "感谢", "辛苦了", "谢啦"}
MENU_INTAKE = {
    "1",
    "反映",
    "反映问题",
    "我要反映",
    "登记",
    "我要登记",
    "反映办不成的事",
    "办不成",
    "反映办不成的事情",
    "我要反映问题",
}
MENU_STATUS = {"2", "查询进度"}
MENU_FAQ = {"3", "常见问题", "问题", "咨询", "我要咨询"}
CONFIRM = {
    "1",
    "确认",
    "确认提交",
    "对",
    "对的",
    "没问题",
    "提交",
    "确定",
    "正确",
    "没错",
    "是的",
    "好",
    "好的",
    "可以",
}
CASE_YES = {"1", "能", "可以", "解决了", "能解决", "有用", "管用", "好的", "行"}
CASE_NO = {"2", "不能", "不行", "没用", "继续", "继续登记", "不能解决", "解决不了", "不管用"}
CASE_DETAIL = {"详情", "查看详情", "3", "详细", "看详情"}
SUGGEST_NONE = {"0", "都不是", "继续", "继续登记", "没有", "都不对"}
DRAFT_CONTINUE = {"1", "继续", "继续填写", "接着填", "继续填"}
DRAFT_RESTART = {"2", "重新开始", "重来", "重新填"}
EDIT_RE = re.compile(
    r"^(?:(?:改|修改|更改|第)(\d{1,2})项?(?:改|修改|要改|错了)?|(\d{1,2})项?(?:改|修改|要改|错了))$"
)
CORRECTION_MARKERS = ("应该是", "改成", "改为", "换成", "是", "为")
MEDIA_KINDS = {"image", "video", "shortvideo", "file", "link"}


def initial_state() -> dict[str, Any]:
    """The state of a citizen we have never talked to."""
    return {
        "v": STATE_VERSION,
        "mode": "idle",  # idle | intake | faq_ask | faq_case | faq_suggest | faq_none | draft_offer
        "intake": None,  # the form in flight, see _new_intake
        "draft": None,  # an intake put aside (24 h silence, or consent declined)
        "awaiting": None,  # the result we wait for: cases_intake|cases_faq|file|tickets|status
        "side": None,  # {"kind": "last4", "number": ...} while a status lookup needs a phone
        "faq": None,  # {"query", "case", "cases"} while in the FAQ
        "held": None,  # text that arrived while a draft was offered, reused on 重新开始
        "attachments": [],  # media received outside an intake, for the next request
        "offers": {},  # rotation counters for non-field re-prompts
        "last_number": None,  # the last ticket filed, for convenience
    }


_INITIAL_KEYS = frozenset(initial_state())


def step(state: Mapping[str, Any] | None, inbound: Inbound, config: DialogConfig) -> Turn:
    """One inbound message (or effect result, or timer) -> new state, replies and effects."""
    engine = _Engine(state, inbound, config)
    engine.run()
    return engine.turn()


# ------------------------------------------------------------------ the engine


def _iso(at: datetime) -> str:
    return at.isoformat()


def _copy_intake(intake: dict[str, Any]) -> dict[str, Any]:
    """An intake (or draft) the engine may change: its own copy of every container in it that
    is changed in place (the rest is only ever replaced, or never changed)."""
    copied = dict(intake)
    for key in ("values", "retired", "asked", "fails", "last"):
        if isinstance(copied.get(key), dict):
            copied[key] = dict(copied[key])
    for key in ("attachments", "case_ids"):
        if isinstance(copied.get(key), list):
            copied[key] = list(copied[key])
    return copied


# The parts of the state the engine changes in place, and how to copy each before it does;
# every other part is only replaced by a new value.
_COPY_BEFORE_CHANGE = {"intake": _copy_intake, "draft": _copy_intake, "offers": dict}


def _attachment_dict(att: Attachment | None, kind: str, at: datetime) -> dict[str, Any]:
    att = att or Attachment(kind=kind)
    return {
        "kind": att.kind or kind,
        "media_id": att.media_id,
        "url": att.url,
        "title": att.title,
        "at": _iso(at),
    }


class _Engine:
    def __init__(self, state: Mapping[str, Any] | None, inbound: Inbound, config: DialogConfig):
        self.config = config
        self.flow: Flow = config.intake_flow
        self.inbound = inbound
        self.at = inbound.at
        # Copy-on-write: a new top level; a part changed in place is copied first (_own).
        st = dict(state or {})
        if not _INITIAL_KEYS.issubset(st):
            for key, value in initial_state().items():
                st.setdefault(key, value)
        self.st = st
        # id -> object of the parts this step copied (or made): its own to change. Holding
        # the objects keeps their ids from being reused by others.
        self._owned: dict[int, Any] = {}
        self.parts: list[str] = []
        self.effects: list[Effect] = []
        self.reask_needed = False
        for key in ("intake", "draft"):
            if st.get(key) and st[key].get("flow_version") != self.flow.version:
                self._migrate(self._own(key))
        if st.get("intake") is None and st["mode"] == "intake":
            st["mode"] = "idle"

    # -------------------------------------------------------------- plumbing

    def say(self, *texts: str) -> None:
        self.parts.extend(t for t in texts if t)

    def emit(self, effect: Effect) -> None:
        self.effects.append(effect)

    def rotate(self, key: str, options: tuple[str, ...]) -> str:
        offers = self._own("offers")
        n = offers.get(key, 0)
        offers[key] = n + 1
        return options[n % len(options)]

    def _own(self, key: str) -> Any:
        """st[key], made this step's own first: copied the first time it is asked for, if it
        is still the caller's (one of _COPY_BEFORE_CHANGE's parts)."""
        value = self.st.get(key)
        if value is not None and id(value) not in self._owned:
            value = self.st[key] = _COPY_BEFORE_CHANGE[key](value)
            self._owned[id(value)] = value
        return value

    @property
    def intake(self) -> dict[str, Any] | None:
        """The intake in flight, this step's own to change."""
        return self._own("intake")

    def turn(self) -> Turn:
        cancelled = any(isinstance(e, CancelTimers) for e in self.effects)
        if (
            self.intake is not None
            and self.inbound.kind not in ("timer", "result")
            and not cancelled
        ):
            self.emit(SetTimer("intake_reminder", self.at + self.config.reminder_after))
            self.emit(SetTimer("intake_draft", self.at + self.config.draft_after))
        if self.intake is not None and self.inbound.kind not in ("timer", "result"):
            self.intake["updated_at"] = _iso(self.at)
        replies = ("\n".join(self.parts),) if self.parts else ()
        return Turn(state=self.st, replies=replies, effects=tuple(self.effects))

    def _migrate(self, intake: dict[str, Any]) -> None:
        """Bring an intake saved under an older flow version up to the current flow."""
        if intake.get("flow_version") == self.flow.version:
            return
        values, retired = self.flow.migrate(intake.get("values", {}))
        intake["values"] = values
        intake.setdefault("retired", {}).update(retired)
        for key in ("asked", "fails"):
            intake[key] = {
                new: n
                for old, n in intake.get(key, {}).items()
                if (new := self.flow.rename(old)) is not None
            }
        old_current = intake.get("current")
        intake["current"] = self.flow.rename(old_current)
        if intake.get("editing"):
            name = self.flow.rename(intake["editing"].get("field"))
            intake["editing"] = {**intake["editing"], "field": name} if name else None
        if intake.get("last"):
            name = self.flow.rename(intake["last"].get("field"))
            intake["last"] = {**intake["last"], "field": name} if name else None
        intake["flow_version"] = self.flow.version
        stage = intake.get("stage")
        missing = self.flow.missing(values, intake.get("handoff", False))
        if stage == "field" and (intake["current"] is None or intake["current"] in values):
            intake["current"] = missing.name if missing else None
            intake["stage"] = "field" if missing else "confirm"
            intake["reask"] = True
        elif stage == "confirm" and missing is not None:
            intake["stage"], intake["current"] = "field", missing.name
            intake["reask"] = True
        elif stage == "confirm":
            intake["reask"] = True  # the read-back they saw may have other numbers now

    # -------------------------------------------------------------- dispatch

    def run(self) -> None:
        kind = self.inbound.kind
        if kind == "result":
            self.on_result(dict(self.inbound.result or {}))
            return
        self.st["awaiting"] = None if kind != "timer" else self.st["awaiting"]
        if kind == "timer":
            self.on_timer(self.inbound.text)
        elif kind == "subscribe":
            self.say(m.WELCOME)
            self._menu_or_reprompt()
        elif kind == "scan":
            self.say(m.GREETING)
            self._menu_or_reprompt()
        elif kind == "menu":
            self.on_menu(self.inbound.text)
        elif kind == "location":
            self.on_location()
        elif kind in MEDIA_KINDS:
            self.on_media()
        elif kind == "voice":
            self._attach(_attachment_dict(self.inbound.attachment, "voice", self.at))
            if not clean(self.inbound.text):
                self.say(self.rotate("voice", m.VOICE_EMPTY))
                return
            self.on_text(self.inbound.text)
        elif kind == "text":
            if not clean(self.inbound.text):
                self.say(self.rotate("nu", m.NOT_UNDERSTOOD))
                self._menu_or_reprompt()
                return
            self.on_text(self.inbound.text)
        else:
            self.say(m.UNKNOWN_KIND)
            self._menu_or_reprompt()

    def _menu_or_reprompt(self) -> None:
        if self.intake is not None:
            self.reprompt(prefix=m.RESUME_SIDE)
        else:
            self.say(m.MENU)

    # -------------------------------------------------------------- commands

    def command(self, text: str) -> tuple[str, str | None] | None:
        t = squash(text)
        low = t.lower()
        if t in BACK:
            return ("back", None)
        if t in CANCEL:
            return ("cancel", None)
        if t in RESTART:
            return ("restart", None)
        if low in HELP:
            return ("help", None)
        if t in HUMAN:
            return ("human", None)
        if t in FORGET:
            return ("forget", None)
        for lead in ("我要", "我想", "帮我", "我的"):
            if t.startswith(lead):
                t = t[len(lead) :]
                break
        for prefix in STATUS_PREFIXES:
            if t.startswith(prefix):
                rest = t[len(prefix) :]
                for filler in STATUS_FILLERS:
                    rest = rest.replace(filler, "")
                rest = re.sub(r"[\s\-_.·]", "", rest)
                if rest == "" or rest.isdigit():
                    return ("status", rest or None)
        return None

    def on_command(self, name: str, arg: str | None) -> None:
        if name == "status":
            self.status_query(arg)
        elif name == "help":
            self.say(m.HELP)
            self._menu_or_reprompt()
        elif name == "cancel":
            had = self.intake is not None or self.st["mode"] != "idle"
            self._reset_to_idle()
            if had:
                self.emit(CancelTimers())
                self.say(m.CANCELLED)
            self.say(m.MENU)
        elif name == "restart":
            self._reset_to_idle()
            self.say(m.RESTARTED)
            self.start_intake(None, greet=False)
        elif name == "human":
            self.handoff()
        elif name == "back":
            self.back()
        elif name == "forget":
            self.forget()

    def forget(self) -> None:
        """删除我的信息: drop drafts from the state now; the handler deletes the rest."""
        self.st.clear()
        self.st.update(initial_state(), awaiting="forget")
        self.emit(CancelTimers())
        self.emit(ForgetMe())

    def _reset_to_idle(self) -> None:
        st = self.st
        if st["mode"] == "draft_offer":
            st["draft"] = None
        st.update(mode="idle", intake=None, faq=None, side=None, held=None, awaiting=None)

    # -------------------------------------------------------------- text

    def on_text(self, text: str) -> None:
        st = self.st
        side = st.get("side")
        cmd = self.command(text)
        if side and side.get("kind") == "last4":
            st["side"] = None
            digits = digits_only(text)
            if cmd is None and len(digits) == 4:
                st["awaiting"] = "status"
                st["side"] = {"kind": "pending", "number": side["number"]}
                self.emit(LookupTicket(side["number"], digits))
                return
        if cmd is not None:
            self.on_command(*cmd)
            return
        mode = st["mode"]
        if mode == "draft_offer":
            self.on_draft_offer(text)
        elif self.intake is not None:
            self.intake_text(text)
        elif mode == "faq_ask":
            self.faq_ask(text)
        elif mode in ("faq_case", "faq_suggest", "faq_none"):
            self.faq_text(text)
        else:
            self.idle_text(text)

    def idle_text(self, text: str) -> None:
        t = squash(text)
        side_question = t in MENU_STATUS or t in MENU_FAQ or tn.normalise(t) is not None
        if self.st.get("draft") and not side_question:
            self.offer_draft(text if self._describes(text) else None)
            return
        if t in MENU_INTAKE:
            self.start_intake(None)
        elif t in MENU_STATUS:
            self.status_query(None)
        elif t in MENU_FAQ:
            self.faq_start()
        elif tn.normalise(t) is not None:
            self.status_query(t)
        elif t.lower() in GREETINGS:
            self.say(m.GREETING, m.MENU)
        elif t in THANKS:
            self.say(m.THANKS)
        elif self._describes(text):
            self.start_intake(text)
        else:
            self.say(self.rotate("nu", m.NOT_UNDERSTOOD), m.MENU)

    def _describes(self, text: str) -> bool:
        t = nfkc(text)
        return (
            content_len(t) >= self.config.describe_min_chars
            and letters(t) >= 6
            and squash(t).lower() not in GREETINGS
        )

    # -------------------------------------------------------------- menu clicks, media

    def on_menu(self, key: str) -> None:
        key = (key or "").strip().lower()
        if key == "status":
            self.status_query(None)
        elif self.intake is not None:
            self.reprompt(prefix=m.RESUME_SIDE)
        elif key == "intake":
            if self.st.get("draft"):
                self.offer_draft(None)
            else:
                self.start_intake(None)
        elif key == "faq":
            self.faq_start()
        else:
            self.say(m.GREETING, m.MENU)

    def _attach(self, att: dict[str, Any]) -> None:
        if self.intake is not None:
            self.intake["attachments"].append(att)
        else:
            self.st["attachments"] = (self.st["attachments"] + [att])[-20:]

    def on_media(self) -> None:
        att = _attachment_dict(self.inbound.attachment, self.inbound.kind, self.at)
        intake = self.intake
        burst = False
        if intake is not None and intake["attachments"]:
            last_at = datetime.fromisoformat(intake["attachments"][-1]["at"])
            burst = self._is_burst_gap(self.at - last_at)
        self._attach(att)
        if intake is None:
            self.say(m.ATTACHED_OUTSIDE)
        elif not burst:
            self.say(m.ATTACHED_IN_INTAKE)
            self.reprompt()

    def on_location(self) -> None:
        loc = self.inbound.location
        intake = self.intake
        if loc is None:
            self.say(m.UNKNOWN_KIND)
            self._menu_or_reprompt()
            return
        centre = nearest_centre(loc[0], loc[1], self.config)
        if intake is None:
            self.say(m.LOCATION_OUTSIDE)
            return
        field = self.flow.get(intake.get("current"))
        if intake["stage"] == "field" and field is not None and field.accepts_location:
            intake["values"][field.name] = centre
            intake["fails"].pop(field.name, None)
            self.say(m.LOCATION_PICKED.format(centre=centre))
            self.advance(field)
            return
        target = next((f for f in self.flow.fields if f.accepts_location), None)
        if target is not None and target.name not in intake["values"]:
            intake["values"][target.name] = centre
            self.say(m.PICKED_UP.format(items=f"{target.label} {centre}"))
        self.reprompt()

    # -------------------------------------------------------------- intake

    def _new_intake(self, handoff: bool = False) -> dict[str, Any]:
        intake = {
            "flow_version": self.flow.version,
            "values": {},
            "retired": {},
            "stage": "field",  # field | searching | case | suggest | confirm | filing
            "current": None,
            "asked": {},
            "fails": {},
            "attachments": list(self.st.get("attachments") or []),
            "case_ids": [],
            "case": None,
            "cases": [],
            "searched": False,
            "handoff": handoff,
            "editing": None,
            "last": None,
            "partial": None,
            "reask": False,
            "started_at": _iso(self.at),
            "updated_at": _iso(self.at),
        }
        self.st["attachments"] = []
        return intake

    def start_intake(
        self,
        prefill: str | None,
        greet: bool = True,
        handoff: bool = False,
        searched: bool = False,
        case_ids: list[str] | None = None,
    ) -> None:
        st = self.st
        st.update(mode="intake", faq=None, held=None, draft=None)
        intake = st["intake"] = self._new_intake(handoff)
        self._owned[id(intake)] = intake
        intake["searched"] = searched
        intake["case_ids"] = list(case_ids or [])
        first = self.flow.fields[0]
        if prefill is not None:
            parsed = first.parse(prefill, self.config)
            if parsed.ok:
                if greet:
                    self.say(m.INTAKE_START_PREFILLED)
                intake["values"][first.name] = parsed.value
                intake["last"] = {"field": first.name, "at": _iso(self.at)}
                self.pick_up(prefill, exclude=first.name)
                self.advance(first)
                return
        if greet:
            self.say(m.INTAKE_START)
        if prefill is not None:
            self.pick_up(prefill, exclude=None)
        self.advance(None)

    def advance(self, filled: Field | None) -> None:
        """After `filled` got a value: search cases, ask the next missing field, or read back."""
        intake = self.intake
        assert intake is not None
        values = intake["values"]
        if (
            filled is not None
            and filled.searches_cases
            and not intake["searched"]
            and not intake["handoff"]
        ):
            intake["searched"] = True
            intake["stage"], intake["current"] = "searching", None
            self.st["awaiting"] = "cases_intake"
            self.emit(SearchCases(str(values[filled.name]), "intake"))
            return
        nxt = self.flow.missing(values, intake["handoff"])
        if nxt is not None:
            intake["stage"], intake["current"] = "field", nxt.name
            self.ask(nxt)
            return
        intake["editing"] = None
        if intake["handoff"]:
            self.file(incomplete=True)
            return
        intake["stage"], intake["current"] = "confirm", None
        self.say(self.readback())

    def ask(self, field: Field) -> None:
        intake = self.intake
        assert intake is not None
        n = intake["asked"].get(field.name, 0)
        intake["asked"][field.name] = n + 1
        editing = intake.get("editing")
        if editing and editing.get("field") == field.name and editing.get("had"):
            self.say(m.EDIT_OLD.format(old=short(field.show(editing.get("old")), 30)))
        self.say(field.prompt(n, self.config))

    def reprompt(self, prefix: str | None = None) -> None:
        """Ask again whatever the intake is waiting for (after a side question, help, media)."""
        intake = self.intake
        if intake is None:
            self.say(m.MENU)
            return
        stage = intake["stage"]
        if stage in ("searching", "filing"):
            return
        if prefix:
            self.say(prefix)
        if stage == "case":
            self.say(self.rotate("case_q", m.CASE_QUESTION))
        elif stage == "suggest":
            self.say(render.case_list(intake["cases"]), self.rotate("sugg", m.CASE_SUGGEST_AGAIN))
        elif stage == "confirm":
            self.say(self.readback())
        else:
            field = self.flow.get(intake.get("current")) or self.flow.missing(
                intake["values"], intake["handoff"]
            )
            if field is None:
                self.advance(None)
                return
            intake["current"] = field.name
            self.ask(field)

    def pick_up(self, text: str, exclude: str | None) -> None:
        """Fill fields a message mentions in passing (phone, centre, company) and say so."""
        intake = self.intake
        assert intake is not None
        values = intake["values"]
        got = []
        for field in self.flow.fields:
            if field.sniff is None or field.name == exclude or field.name in values:
                continue
            implies = dict(field.implies or {})
            if any(k in values and values[k] != v for k, v in implies.items()):
                continue
            if not field.applies({**values, **implies}):
                continue
            value = field.sniff(text, self.config)
            if value:
                values[field.name] = value
                for k, v in implies.items():
                    values.setdefault(k, v)
                got.append(f"{field.label} {value}")
        if got:
            self.say(m.PICKED_UP.format(items="，".join(got)))

    def _within_burst(self, iso: str | None) -> bool:
        if not iso:
            return False
        return self._is_burst_gap(self.at - datetime.fromisoformat(iso))

    def _is_burst_gap(self, gap: timedelta) -> bool:
        # Strictly less: WeChat's CreateTime has whole seconds, so "2 s apart" may be nearly 3.
        # A negative gap is a message delivered out of order: an answer of its own, not a burst.
        return timedelta(0) <= gap < self.config.burst_window

    def intake_text(self, text: str) -> None:
        intake = self.intake
        assert intake is not None
        if intake.pop("reask", False):
            self.say(m.FORM_CHANGED if intake["stage"] == "field" else m.FORM_CHANGED_QUESTION)
            self.reprompt()
            return
        stage = intake["stage"]
        # A burst: a message that continues the free-text answer just given.
        last = intake.get("last")
        if (
            last
            and stage in ("field", "case", "suggest", "searching")
            and self._within_burst(last.get("at"))
            and not self._looks_like_choice(text)
        ):
            field = self.flow.get(last.get("field"))
            if field is not None and field.free_text and field.name in intake["values"]:
                intake["values"][field.name] = join_answer(intake["values"][field.name], text)
                last["at"] = _iso(self.at)
                return
        if stage == "searching":  # the result never came: go on as if nothing was found
            self.st["awaiting"] = None
            self.advance(None)
            return
        if stage == "filing":
            intake["stage"] = "confirm"
            stage = "confirm"
        if stage == "confirm":
            self.confirm_text(text)
        elif stage == "case":
            self.case_text(text)
        elif stage == "suggest":
            self.suggest_text(text)
        else:
            self.field_text(text)

    def _looks_like_choice(self, text: str) -> bool:
        t = squash(text)
        return len(t) <= 2 or t in CASE_YES or t in CASE_NO or t in CASE_DETAIL

    def field_text(self, text: str) -> None:
        intake = self.intake
        assert intake is not None
        values = intake["values"]
        field = self.flow.get(intake.get("current")) or self.flow.missing(values, intake["handoff"])
        if field is None:
            self.advance(None)
            return
        intake["current"] = field.name
        partial = intake.get("partial")
        if (
            field.free_text
            and partial
            and partial.get("field") == field.name
            and self._within_burst(partial.get("at"))
        ):
            text = join_answer(partial["text"], text)
        intake["partial"] = None
        t = squash(text)
        if t in field.skip_words:
            values[field.name] = field.skip_value
        else:
            parsed = field.parse(text, self.config)
            if parsed.declined:
                self.decline(field)
                return
            if not parsed.ok:
                fails = intake["fails"][field.name] = intake["fails"].get(field.name, 0) + 1
                if field.free_text:
                    intake["partial"] = {"field": field.name, "text": text, "at": _iso(self.at)}
                self.say(parsed.error or "")
                self.ask(field)
                if fails >= self.config.offer_human_after and not intake["handoff"]:
                    self.say(m.OFFER_HUMAN)
                return
            values[field.name] = parsed.value
        intake["fails"].pop(field.name, None)
        intake["last"] = {"field": field.name, "at": _iso(self.at)} if field.free_text else None
        self.pick_up(text, exclude=field.name)
        self.advance(field)

    def decline(self, field: Field) -> None:
        """Consent refused: nothing is filed; what they wrote is kept as a draft."""
        intake = self.intake
        assert intake is not None
        intake["stage"], intake["current"], intake["editing"] = "field", field.name, None
        intake["values"].pop(field.name, None)
        self.st.update(draft=intake, intake=None, mode="idle")
        self.emit(CancelTimers())
        self.say(m.CONSENT_DECLINED)

    def back(self) -> None:
        intake = self.intake
        if intake is None:
            if self.st["mode"] in ("faq_case", "faq_suggest", "faq_none"):
                self.st.update(mode="faq_ask", faq=None)
                self.say(self.rotate("faq", m.FAQ_ASK))
                return
            self.st.update(mode="idle", faq=None)
            self.say(m.NOTHING_TO_GO_BACK, m.MENU)
            return
        values = intake["values"]
        editing = intake.get("editing")
        if editing:
            if editing.get("had"):
                values[editing["field"]] = editing.get("old")
            intake["editing"] = None
            intake["stage"], intake["current"] = "confirm", None
            self.say(m.BACK_TO_READBACK, self.readback())
            return
        stage = intake["stage"]
        applicable = self.flow.applicable(values)
        if stage in ("case", "suggest", "searching"):
            target = self.flow.fields[0]
            intake["searched"] = False
        elif stage in ("confirm", "filing"):
            target = next((f for f in reversed(applicable) if f.name in values), None)
        else:
            current = intake.get("current")
            names = [f.name for f in applicable]
            idx = names.index(current) if current in names else len(names)
            target = next((f for f in reversed(applicable[:idx]) if f.name in values), None)
        if target is None:
            self.say(m.FIRST_QUESTION)
            self.reprompt()
            return
        values.pop(target.name, None)
        for child in self.flow.children(target.name):
            values.pop(child.name, None)
        intake.update(stage="field", current=target.name, case=None, cases=[], last=None)
        self.ask(target)

    def handoff(self) -> None:
        """人工: hand over now with whatever is filled (consent still needed to file)."""
        self.say(m.HANDOFF_START)
        intake = self.intake
        if intake is None:
            if self.st.get("draft"):
                self.st.update(intake=self.st["draft"], draft=None, mode="intake")
                intake = self.intake
                assert intake is not None
            else:
                self.start_intake(None, greet=False, handoff=True)
                self.parts[-1] = m.HANDOFF_ASK_REQUEST
                return
        intake["handoff"] = True
        editing = intake.get("editing")
        if editing and editing.get("had"):
            intake["values"][editing["field"]] = editing.get("old")
        intake["editing"] = None
        if self.flow.missing(intake["values"], handoff=True) is None:
            self.file(incomplete=self.flow.missing(intake["values"]) is not None)
            return
        self.advance(None)
        if intake["current"] == self.flow.fields[0].name:
            self.parts[-1] = m.HANDOFF_ASK_REQUEST

    # -------------------------------------------------------------- cases

    def on_cases(self, result: dict[str, Any], mode: str) -> None:
        cases = [c for c in result.get("cases") or [] if isinstance(c, Mapping)]
        decision = result.get("decision")
        if decision == "answer" and cases:
            decision = "answer"
        elif decision == "suggest" and cases:
            decision = "suggest" if len(cases) > 1 else "answer"
        else:
            decision = "none"
        cases = [
            {k: str(c.get(k, "")) for k in ("id", "title", "solution", "department")}
            for c in cases[:5]
        ]
        if mode == "intake":
            intake = self.intake
            if intake is None:
                return
            if decision == "none":
                self.advance(None)
                return
            shown = cases[:1] if decision == "answer" else cases
            intake["case_ids"] += [c["id"] for c in shown if c["id"] not in intake["case_ids"]]
            if decision == "answer":
                intake.update(stage="case", case=cases[0], cases=[])
                self.say(m.CASE_FOUND, render.case_brief(cases[0]), m.CASE_QUESTION[0])
            else:
                intake.update(stage="suggest", case=None, cases=cases)
                self.say(m.CASE_SUGGEST.format(items=render.case_list(cases)))
            return
        faq = self.st.get("faq") or {}
        if decision == "none":
            self.st.update(mode="faq_none", faq={**faq, "case": None, "cases": []})
            self.say(m.FAQ_NONE)
        elif decision == "answer":
            self.st.update(mode="faq_case", faq={**faq, "case": cases[0], "cases": []})
            self.say(render.case_brief(cases[0]), m.FAQ_CASE_QUESTION[0])
        else:
            self.st.update(mode="faq_suggest", faq={**faq, "case": None, "cases": cases})
            self.say(m.FAQ_SUGGEST.format(items=render.case_list(cases)))

    def case_text(self, text: str) -> None:
        intake = self.intake
        assert intake is not None
        case = intake.get("case") or {}
        t = squash(text)
        if t in CASE_YES:
            self.emit(CaseFeedback(case.get("id", ""), True))
            self.emit(CancelTimers())
            self.st.update(intake=None, mode="idle")
            self.say(m.CASE_SOLVED)
        elif t in CASE_NO:
            self.emit(CaseFeedback(case.get("id", ""), False))
            intake.update(stage="field", case=None, cases=[])
            self.say(m.CASE_NOT_SOLVED)
            self.advance(None)
        elif t in CASE_DETAIL:
            self.say(render.case_detail(case), self.rotate("case_q", m.CASE_QUESTION))
        else:
            self.say(self.rotate("case_q", m.CASE_QUESTION))

    def suggest_text(self, text: str) -> None:
        intake = self.intake
        assert intake is not None
        t = squash(text)
        cases = intake.get("cases") or []
        if t in SUGGEST_NONE:
            intake.update(stage="field", case=None, cases=[])
            self.say(m.CONTINUE_INTAKE)
            self.advance(None)
        elif t.isdigit() and 1 <= int(t) <= len(cases):
            case = cases[int(t) - 1]
            intake.update(stage="case", case=case)
            self.say(render.case_brief(case), m.CASE_QUESTION[0])
        else:
            self.say(self.rotate("sugg", m.CASE_SUGGEST_AGAIN))

    # -------------------------------------------------------------- FAQ

    def faq_start(self) -> None:
        self.st.update(mode="faq_ask", faq=None)
        self.say(self.rotate("faq", m.FAQ_ASK))

    def faq_ask(self, text: str) -> None:
        t = squash(text)
        if t in MENU_INTAKE or content_len(t) < 2:
            if t in MENU_INTAKE:
                self.st.update(mode="idle")
                self.idle_text(text)
                return
            self.say(self.rotate("faq", m.FAQ_ASK))
            return
        query = " ".join(text.split())
        self.st.update(faq={"query": query, "case": None, "cases": []}, awaiting="cases_faq")
        self.emit(SearchCases(query, "faq"))

    def faq_text(self, text: str) -> None:
        st = self.st
        faq = st.get("faq") or {}
        t = squash(text)
        mode = st["mode"]
        if mode == "faq_case":
            case = faq.get("case") or {}
            if t in CASE_YES:
                self.emit(CaseFeedback(case.get("id", ""), True))
                st.update(mode="idle", faq=None)
                self.say(m.CASE_SOLVED)
            elif t in CASE_NO:
                self.emit(CaseFeedback(case.get("id", ""), False))
                self._faq_to_intake(faq, [case.get("id", "")])
            elif t in CASE_DETAIL:
                self.say(render.case_detail(case), self.rotate("faq_q", m.FAQ_CASE_QUESTION))
            else:
                self._leave_faq(text)
        elif mode == "faq_suggest":
            cases = faq.get("cases") or []
            if t.isdigit() and 1 <= int(t) <= len(cases):
                case = cases[int(t) - 1]
                st.update(mode="faq_case", faq={**faq, "case": case})
                self.say(render.case_brief(case), m.FAQ_CASE_QUESTION[0])
            elif t in SUGGEST_NONE:
                st.update(mode="faq_none")
                self.say(m.FAQ_NONE)
            else:
                self._leave_faq(text)
        else:  # faq_none
            if t == "1":
                self._faq_to_intake(faq, [])
            elif t == "0":
                st.update(mode="idle", faq=None)
                self.say(m.MENU)
            else:
                self._leave_faq(text)

    def _leave_faq(self, text: str) -> None:
        """Something else than an answer to the FAQ offer: a new question, or idle talk."""
        self.st.update(mode="idle", faq=None)
        if self._describes(text) or content_len(text) >= 4:
            self.st["mode"] = "faq_ask"
            self.faq_ask(text)
        else:
            self.idle_text(text)

    def _faq_to_intake(self, faq: Mapping[str, Any], case_ids: list[str]) -> None:
        self.say(m.FAQ_NOT_SOLVED)
        ids = [i for i in case_ids if i] + [c.get("id", "") for c in faq.get("cases") or []]
        self.start_intake(
            faq.get("query"),
            greet=False,
            searched=True,
            case_ids=list(dict.fromkeys(i for i in ids if i)),
        )

    # -------------------------------------------------------------- confirm & file

    def readback(self) -> str:
        intake = self.intake
        assert intake is not None
        values = intake["values"]
        lines = []
        for n, field, children in self.flow.numbered(values):
            shown = short(field.show(values.get(field.name)), 30 if n == 1 else 20)
            extra = "，".join(short(c.show(values.get(c.name)), 20) for c in children)
            lines.append(f"{n} {field.label}：{shown}" + (f"（{extra}）" if extra else ""))
        return m.READBACK_HEAD + "\n".join(lines) + m.READBACK_TAIL.format(n=self._example_n())

    def _example_n(self) -> int:
        """A read-back number to use in "改N" examples: the phone's line, else the second."""
        assert self.intake is not None
        numbered = self.flow.numbered(self.intake["values"])
        return next((n for n, f, _ in numbered if f.name == "phone"), min(2, len(numbered)))

    def confirm_text(self, text: str) -> None:
        intake = self.intake
        assert intake is not None
        values = intake["values"]
        t = squash(text)
        if t in CONFIRM:
            self.file(incomplete=False)
            return
        numbered = self.flow.numbered(values)
        match = EDIT_RE.match(t)
        if match:
            n = int(match.group(1) or match.group(2))
            line = next((ln for ln in numbered if ln[0] == n), None)
            if line is None:
                self.say(m.READBACK_BAD_NUMBER.format(n=n))
                return
            self._edit(line[1])
            return
        # A free correction: "电话写错了，是13912345678".
        changed = []
        named: Field | None = None
        for _, field, children in numbered:
            for f in (field, *children):
                if f.sniff is not None:
                    value = f.sniff(text, self.config)
                    if value and value != values.get(f.name):
                        values[f.name] = value
                        changed.append(f)
                        continue
                if named is None and any(k in t for k in f.keywords) and f not in changed:
                    named = f
        if not changed and named is not None:
            tail = self._correction_tail(t)
            parsed = named.parse(tail, self.config) if tail else None
            if parsed is not None and parsed.ok and not named.consent:
                values[named.name] = parsed.value
                changed.append(named)
            else:
                self._edit(named)
                return
        if changed:
            self.say(m.CHANGED, self.readback())
            return
        self.say(self.rotate("readback", m.READBACK_AGAIN).format(n=self._example_n()))

    @staticmethod
    def _correction_tail(t: str) -> str:
        for marker in CORRECTION_MARKERS:
            if marker in t:
                return t.rsplit(marker, 1)[1]
        return ""

    def _edit(self, field: Field) -> None:
        intake = self.intake
        assert intake is not None
        values = intake["values"]
        intake["editing"] = {
            "field": field.name,
            "old": values.get(field.name),
            "had": field.name in values,
        }
        values.pop(field.name, None)
        for child in self.flow.children(field.name):
            values.pop(child.name, None)
        intake.update(stage="field", current=field.name)
        self.ask(field)

    def file(self, incomplete: bool) -> None:
        intake = self.intake
        assert intake is not None
        intake["stage"], intake["current"] = "filing", None
        self.st["awaiting"] = "file"
        values = intake["values"]
        self.emit(
            FileTicket(
                fields={f.name: values[f.name] for f in self.flow.fields if f.name in values},
                attachments=list(intake["attachments"]),
                incomplete=incomplete,
                case_suggestions=list(intake["case_ids"]),
                flow_version=self.flow.version,
                retired=dict(intake.get("retired") or {}),
            )
        )

    # -------------------------------------------------------------- status

    def status_query(self, arg: str | None) -> None:
        if arg is None:
            self.st["awaiting"] = "tickets"
            self.emit(ListTickets())
            return
        number = tn.normalise(arg)
        if number is None:
            self.say(m.STATUS_NOT_12)
            self._after_side()
            return
        if not tn.is_valid(number):
            self.say(m.STATUS_BAD_CHECK)
            self._after_side()
            return
        self.st["awaiting"] = "status"
        self.st["side"] = {"kind": "pending", "number": number}
        self.emit(LookupTicket(number, None))

    def _after_side(self) -> None:
        if self.intake is not None:
            self.reprompt(prefix=m.RESUME_SIDE)

    def on_ticket_status(self, result: dict[str, Any]) -> None:
        side = self.st.get("side") or {}
        number = str(side.get("number") or "")
        self.st["side"] = None
        outcome = result.get("outcome")
        ticket = result.get("ticket")
        if outcome == "shown" and isinstance(ticket, Mapping):
            self.say(render.ticket_status(ticket, number))
        elif outcome == "need_phone" and number:
            self.st["side"] = {"kind": "last4", "number": number}
            self.say(m.STATUS_ASK_LAST4)
            return
        elif outcome == "locked":
            self.say(m.STATUS_LOCKED)
        else:  # denied, not found, anything unexpected: the same words
            self.say(m.STATUS_NOT_SHOWN)
        self._after_side()

    # -------------------------------------------------------------- results & timers

    def on_result(self, result: dict[str, Any]) -> None:
        st = self.st
        awaiting = st.get("awaiting")
        st["awaiting"] = None
        rtype = result.get("type")
        if rtype == "cases" and awaiting in ("cases_intake", "cases_faq"):
            self.on_cases(result, "intake" if awaiting == "cases_intake" else "faq")
        elif rtype == "ticket_filed" and awaiting == "file" and self.intake is not None:
            number = tn.normalise(str(result.get("number", ""))) or str(result.get("number", ""))
            incomplete = bool(self.intake.get("handoff"))
            st.update(intake=None, mode="idle", last_number=number)
            self.emit(CancelTimers())
            template = m.FILED_INCOMPLETE if incomplete else m.FILED
            self.say(
                template.format(
                    number=tn.display(number), compact=number, next_steps=self.config.next_steps
                )
            )
        elif rtype == "tickets" and awaiting == "tickets":
            self.say(render.ticket_list(list(result.get("items") or [])))
            self._after_side()
        elif rtype == "ticket_status" and awaiting == "status":
            self.on_ticket_status(result)
        elif rtype == "forgotten" and awaiting == "forget":
            self.say(m.FORGOTTEN)
            self.say(render.open_tickets(list(result.get("open_tickets") or [])))
            self.say(m.MENU)
        elif rtype == "error":
            self.on_error(awaiting)
        else:
            st["awaiting"] = awaiting  # not what we wait for: ignore it

    def on_error(self, awaiting: str | None) -> None:
        intake = self.intake
        if awaiting == "file" and intake is not None:
            intake["stage"] = "confirm"
            self.say(m.FILE_FAILED)
        elif awaiting == "cases_intake" and intake is not None:
            self.advance(None)
        else:
            self.st["side"] = None
            if self.st["mode"].startswith("faq"):
                self.st.update(mode="idle", faq=None)
            self.say(m.SYSTEM_BUSY)
            self._after_side()

    def on_timer(self, name: str) -> None:
        intake = self.intake
        if intake is None:
            return
        updated = datetime.fromisoformat(intake["updated_at"])
        if name == "intake_reminder":
            if self.at >= updated + self.config.reminder_after and intake["stage"] != "filing":
                self.emit(Push(m.REMINDER))
        elif name == "intake_draft" and self.at >= updated + self.config.draft_after:
            if intake["stage"] in ("searching", "filing"):
                intake["stage"] = "field" if intake["stage"] == "searching" else "confirm"
            self.st.update(draft=intake, intake=None, mode="idle", awaiting=None)

    # -------------------------------------------------------------- drafts

    def offer_draft(self, held: str | None) -> None:
        draft = self.st["draft"]
        request = draft["values"].get(self.flow.fields[0].name) or "还没写内容"
        self.st.update(mode="draft_offer", held=held)
        self.say(self.rotate("draft", m.DRAFT_OFFER).format(request=short(request, 24)))

    def on_draft_offer(self, text: str) -> None:
        st = self.st
        t = squash(text)
        if t in DRAFT_CONTINUE:
            st.update(intake=st["draft"], draft=None, mode="intake", held=None)
            intake = self.intake
            assert intake is not None
            intake["attachments"] += st["attachments"]
            st["attachments"] = []
            intake["reask"] = False
            self.say(m.DRAFT_RESUMED)
            if intake["stage"] == "field":
                # A day later the order of the form matters more than the old question.
                intake["current"] = None
                self.advance(None)
            else:
                self.reprompt()
        elif t in DRAFT_RESTART:
            held = st.get("held")
            st.update(draft=None, held=None, mode="idle")
            self.say(m.RESTARTED)
            self.start_intake(held, greet=False)
        else:
            self.offer_draft(st.get("held"))
