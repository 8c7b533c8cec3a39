#!/usr/bin/env python3
"""CPU per job by part of the worker, from a `perf script` dump of a bench run.

    perf script -i perf.data > perf.txt
    python3 bench/breakdown.py perf.txt JOBS [HZ]

Each sample (one stack) goes to the first part, in the order below, whose pattern (a regular
expression) one of its frames matches; `u`/`k` says whether the sample was taken in user space or in the kernel (system
calls, page faults, and the loopback network work a send does for its receiver). Figures are
ms of CPU per job at the sampling rate (999 Hz as the bench records), with perf's own overhead.
"""
import collections
import re
import sys

PARTS = [
    ("review (article rules, faithfulness, language)", "review::check"),
    # The store's file thread (group commit) and its checks on the blocking pool: inlined
    # frames may not name the store.
    ("store (files, flushes, renames)",
     r"ContentStore|store::commit|__x64_sys_(openat|fsync|syncfs|rename|mkdir|statx|unlink|close)\b"),
    ("prompts (Handlebars)", "PromptSet::render"),
    ("article (assemble, YAML out and back)", "rewriter::article::"),
    ("HTTP request (async-openai, reqwest)", "async_openai"),
    ("HTTP connection (hyper)", "hyper"),
    ("AMQP (lapin)", "lapin"),
    ("/metrics endpoint", "rewriter::health"),
    ("logs (tracing)", "tracing_subscriber"),
    ("threads parking and waking", "park"),
    ("tokio scheduler and blocking pool", "tokio::runtime"),
    ("futex elsewhere", "futex"),
    ("rest of rewriter", "rewriter::"),
]


def main() -> None:
    path, jobs = sys.argv[1], int(sys.argv[2])
    hz = float(sys.argv[3]) if len(sys.argv) > 3 else 999.0
    counts: collections.Counter = collections.Counter()
    for sample in open(path, encoding="utf-8", errors="replace").read().split("\n\n"):
        lines = sample.strip().split("\n")
        if len(lines) < 2:
            continue
        frames = [re.sub(r"^\s*[0-9a-f]+\s+", "", line) for line in lines[1:]]
        where = "k" if "kernel" in frames[0] else "u"
        stack = "\n".join(frames)
        part = next((name for name, pattern in PARTS if re.search(pattern, stack)), "other")
        counts[(part, where)] += 1
    total = sum(counts.values())
    print(f"{'part':52} {'user':>8} {'kernel':>8}   ms CPU per job")
    for name in [p for p, _ in PARTS] + ["other"]:
        user, kernel = counts[(name, "u")], counts[(name, "k")]
        if user + kernel:
            print(f"{name:52} {user / hz / jobs * 1000:8.4f} {kernel / hz / jobs * 1000:8.4f}")
    print(f"{'all':52} {total / hz / jobs * 1000:17.4f}")


if __name__ == "__main__":
    main()
