"""Search latency, build time and memory on synthetic libraries of 1k / 10k / 100k cases.

Cases are recombined from the demo library (title halves, problem sentences and keywords of
random demo cases), so the vocabulary and its frequencies stay realistic while the library grows.
Messages are the demo queries. Single thread, one core.

Usage: PYTHONPATH=. python benchmarks/caselib/latency.py [--sizes 1000 10000 100000]
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import statistics
import time

from handlers.caselib.jsonl import load_cases, read_queries
from handlers.caselib.matcher import CaseDoc, CaseMatcher

DATA = "handlers/caselib/data/"


def synth(n: int, seed: int = 1) -> list[CaseDoc]:
    demo = load_cases(DATA + "demo_cases.jsonl")
    rng = random.Random(seed)
    sents = [s for c in demo for s in re.split(r"(?<=[。！？])", c.problem) if s]
    out = []
    for i in range(n):
        a, b = rng.sample(demo, 2)
        title = a.title[: len(a.title) // 2] + b.title[len(b.title) // 2 :]
        problem = "".join(rng.sample(sents, 3))
        kws = tuple(rng.sample(a.keywords + b.keywords, 5))
        out.append(
            CaseDoc(
                f"S{i:06d}", title, problem, a.solution, kws, a.category, a.handling, a.department
            )
        )
    return out


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(n: int, queries: list[str], rounds: int = 3) -> dict:
    cases = synth(n)
    before = rss_mb()
    t0 = time.perf_counter()
    m = CaseMatcher(cases)
    build = time.perf_counter() - t0
    after = rss_mb()
    for q in queries[:20]:  # warm-up
        m.search(q)
    times = []
    for _ in range(rounds):
        for q in queries:
            t = time.perf_counter()
            m.search(q)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    t = time.perf_counter()
    m.upsert(cases[0])
    upsert_ms = (time.perf_counter() - t) * 1000
    return {
        "n": n,
        "build_s": build,
        "peak_rss_growth_mb": after - before,
        "p50_ms": statistics.median(times),
        "p99_ms": times[int(len(times) * 0.99) - 1],
        "max_ms": times[-1],
        "upsert_ms": upsert_ms,
        "searches": len(times),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    args = ap.parse_args()
    queries = [r["query"] for r in read_queries(DATA + "demo_queries.jsonl")]
    print(
        f"{'cases':>8} {'build s':>8} {'RSS+ MB':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'upsert ms':>9}"
    )
    for n in args.sizes:
        r = bench(n, queries)
        print(
            f"{r['n']:>8} {r['build_s']:>8.1f} {r['peak_rss_growth_mb']:>8.0f} "
            f"{r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['max_ms']:>7.2f} "
            f"{r['upsert_ms']:>9.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
