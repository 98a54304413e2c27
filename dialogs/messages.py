"""What the bot says. Short, kind, plain simplified Chinese. Tuples are phrasings to rotate."""

from __future__ import annotations

MENU = "请回复数字：\n1 反映办不成的事\n2 查询进度\n3 常见问题"
WELCOME = (
    "您好！这里是福州“办不成事”窗口的线上入口。"
    "在别的窗口办不成的事，可以在这里告诉我，我帮您登记，交给窗口工作人员跟进。"
)
GREETING = "您好！我可以帮您反映办不成的事，也可以查办理进度。"
THANKS = "不客气！有事随时找我。"
NOT_UNDERSTOOD = (
    "不好意思，我没太明白。",
    "抱歉，这句话我没看懂。",
)
HELP = (
    "随时可以回复：\n“上一步”改上一个问题\n“取消”不登记了\n“重新开始”从头再来\n"
    "“人工”直接转工作人员\n“查询”看办理进度"
)
NOTHING_TO_GO_BACK = "现在没有正在填写的内容。"
FIRST_QUESTION = "这已经是第一个问题了。"
CANCELLED = "好的，已经取消，刚才填的内容没有提交。"
INTAKE_START = "好的，我来帮您登记，就几个小问题。"
INTAKE_START_PREFILLED = "好的，我来帮您登记这件事。"
RESTARTED = "好的，我们从头开始。"
HANDOFF_START = "好的，马上为您转人工。"
HANDOFF_ASK_REQUEST = "请先简单说说您要办的事，我一起转给工作人员。"
PICKED_UP = "我已记下：{items}。"
EDIT_OLD = "原来填的是：{old}。"
OFFER_HUMAN = "如果不方便填写，可以回复“人工”，我直接转给工作人员。"
CONSENT_DECLINED = (
    "好的，不同意就不提交了。您写的内容我先帮您保存着，"
    "以后想提交，发任意消息就能接着填。也可以直接到窗口办理。"
)
CONTINUE_INTAKE = "好的，我们接着登记。"
RESUME_SIDE = "我们接着刚才的登记："
FORM_CHANGED = "登记表有更新，还需要您补充一项。"
FORM_CHANGED_QUESTION = "我们接着刚才的登记。"
BACK_TO_READBACK = "好的，还是原来的。"
CHANGED = "好的，已经改好了。"

READBACK_HEAD = "请核对一下：\n"
READBACK_TAIL = "\n回复1 确认提交；要修改请回复“改”加序号，比如“改{n}”。"
READBACK_AGAIN = (
    "请回复1 确认提交，或回复“改”加序号修改，比如“改{n}”。",
    "内容没问题就回复1；哪一项要改，回复“改”加它的序号。",
)
READBACK_BAD_NUMBER = "没有第{n}项，请看一下上面的序号。"

FILED = "已经帮您提交了，受理号是：\n{number}\n{next_steps}\n想看进度，随时发送“查询 {compact}”。"
FILED_INCOMPLETE = (
    "已经转给工作人员，受理号是：\n{number}\n工作人员会尽快联系您。\n"
    "想看进度，发送“查询 {compact}”。"
)
FILE_FAILED = "抱歉，系统有点忙，刚才没有提交成功。请稍后回复1再提交一次。"
SYSTEM_BUSY = "抱歉，系统有点忙，请稍后再试。"

CASE_FOUND = "有一个办法可能帮到您："
CASE_BRIEF = "【{title}】\n怎么办：{solution}\n找哪里：{department}\n回复“详情”查看详细办法。"
CASE_QUESTION = (
    "这能解决您的问题吗？1 能 2 不能，继续登记",
    "这个办法管用吗？回复1 能，回复2 不能、继续登记。",
)
FAQ_CASE_QUESTION = (
    "这能解决您的问题吗？1 能 2 不能",
    "这个办法管用吗？回复1 能，回复2 不能。",
)
CASE_DETAIL = "【{title}】\n{solution}\n办理部门：{department}"
CASE_SUGGEST = "有几个类似的情况，回复序号看看：\n{items}\n都不是请回复0，继续登记。"
CASE_SUGGEST_AGAIN = (
    "请回复上面的序号查看，都不是请回复0。",
    "想看哪一个？回复它的序号；都不合适就回复0。",
)
FAQ_SUGGEST = "有几个相关的问题，回复序号查看：\n{items}\n都不是请回复0。"
CASE_SOLVED = "太好了！按这个办法去办就行。以后有事随时找我。"
CASE_NOT_SOLVED = "好的，我们接着登记，交给工作人员帮您办。"
FAQ_ASK = (
    "您想了解什么？用一句话说说就行，比如“社保卡丢了怎么补办”。",
    "请说一说您想问的事情。",
)
FAQ_NONE = "没有找到现成的答案。回复1，我帮您登记给工作人员；回复0回到菜单。"
FAQ_NONE_AGAIN = ("回复1 登记给工作人员，回复0 回到菜单。",)
FAQ_NOT_SOLVED = "好的，我帮您登记给工作人员。"

DRAFT_OFFER = (
    "您上次有一件事还没登记完：“{request}”。\n1 继续填写 2 重新开始",
    "上次的登记还没完成（“{request}”）。回复1 接着填，回复2 重新开始。",
)
DRAFT_RESUMED = "好的，接着上次的填。"

REMINDER = "您好，您要反映的事情还差几步就登记好了。回复任意消息，就能接着填写。"

VOICE_EMPTY = (
    "抱歉，这段语音我没听清。请再说一遍，或者打字告诉我。",
    "这段语音没听清楚，麻烦您再说一次，或者打字也行。",
)
ATTACHED_IN_INTAKE = "收到，已经附在您反映的事情里了。"
ATTACHED_OUTSIDE = "收到，我先帮您保存着。要反映问题请回复1，这个会一起交给工作人员。"
LOCATION_OUTSIDE = "收到您的位置。要反映问题请回复1。"
LOCATION_PICKED = "根据您的位置，选的是{centre}。不对的话，最后核对时可以改。"
UNKNOWN_KIND = "这种消息我暂时看不了，请用文字或语音告诉我。"

STATUS_ASK_LAST4 = "为了保护隐私，请发送这个受理号登记时留的联系电话的后4位数字。"
STATUS_BAD_CHECK = "号码可能输错了，请核对后再发一次，比如：查询 2611 2804 1739"
STATUS_NOT_12 = "受理号是12位数字，请核对后再发一次，比如：查询 2611 2804 1739"
STATUS_NOT_SHOWN = "没有查到可以显示的信息。请核对号码和电话后4位，或用登记时的微信查询。"
STATUS_LOCKED = "这个号码查询次数太多了，为了保护信息安全，请一小时后再试。急事可以直接到窗口咨询。"
STATUS_NONE = "您还没有登记过事情。要反映问题请回复1。"
STATUS_LIST_HEAD = "您登记的事情："
STATUS_LIST_TAIL = "看详情请发送“查询 号码”。"

FORGOTTEN = "好的，您还没提交的内容（填了一半的登记、发来的图片和聊天记录）已经删除了。"
FORGOTTEN_OPEN_HEAD = "您还有正在办理的事："
FORGOTTEN_OPEN_TAIL = (
    "这些已经交给工作人员，需要留着联系您。如果不想办了，请回复“人工”，"
    "说明要撤回哪个受理号，工作人员会帮您撤回。办结后的信息会按规定期限删除。"
)
