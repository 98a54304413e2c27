"""The webhook's protocol work on the server, Doudi's against the ceiling's (ceiling.py).

    .venv/bin/python benchmarks/webhook/protocol_bench.py

One signed, encrypted text message as WeChat sends it: check, decrypt, parse (and for Doudi,
map to an Incoming), reply, encrypt. Prints the best of 7 runs of each, in µs. On a shared
machine times move by ±20%; for a steady figure count instructions instead, e.g.
`valgrind --tool=callgrind` over two iteration counts (--only NAME --loops N), subtracted.
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import check_signature

from bot.inbound import to_incoming
from bot.protocol import WeChatProtocol
from bot.simulator import WeChatSide, message_xml

TOKEN, AES_KEY, APPID = "t", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx1"
TEXT = "我父亲的养老金资格认证一直通不过，他瘫痪在床去不了社保窗口"
REPLY = "您好，这里是办不成事窗口。" * 8

query, body = WeChatSide(TOKEN, AES_KEY, APPID).seal(
    message_xml("o" * 28, "text", Content=TEXT, CreateTime=int(time.time()))
)
crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
protocol = WeChatProtocol(TOKEN, AES_KEY, APPID)


def ceiling() -> str:
    """What benchmarks/webhook/ceiling.py does for a request."""
    q = query
    check_signature(TOKEN, q["signature"], q["timestamp"], q["nonce"])
    xml = crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
    reply = create_reply(REPLY, parse_message(xml))
    return crypto.encrypt_message(reply, q["nonce"], str(int(time.time())))


def doudi() -> str:
    """What bot/webhook.py does for a request, apart from the turn."""
    envelope = protocol.open(dict(query), body)
    to_incoming(envelope.message)
    return protocol.seal(envelope, REPLY)


RUNS = {"ceiling": ceiling, "doudi": doudi}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(RUNS), help="run one, --loops times, silently")
    parser.add_argument("--loops", type=int, default=1000)
    args = parser.parse_args()
    if args.only:
        for _ in range(args.loops):
            RUNS[args.only]()
    else:
        for name, run in RUNS.items():
            best = min(timeit.repeat(run, number=2000, repeat=7)) / 2000
            print(f"{name:8s} {best * 1e6:6.1f} µs")
