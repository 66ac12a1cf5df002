"""Prints the peer benchmark's table from the two JSON results (Rewind and LangGraph).

usage: compare.py REWIND.json LANGGRAPH.json [--markdown]
"""

import json
import sys

METRICS = [
    ("step_us", "time per step (µs)"),
    ("bytes_on_disk", "bytes on disk"),
    ("load_latest_state_ms", "load latest state (ms)"),
    ("list_history_ms", "list history (ms)"),
]


def main() -> None:
    rewind = json.load(open(sys.argv[1]))["results"]
    langgraph_doc = json.load(open(sys.argv[2]))
    langgraph = langgraph_doc["results"]
    markdown = "--markdown" in sys.argv
    rows = []
    for n in sorted(rewind, key=int):
        if n not in langgraph:
            continue
        for key, label in METRICS:
            r, l = rewind[n][key], langgraph[n][key]
            ratio = r / l if l else float("nan")
            rows.append((n, label, r, l, ratio))
    header = ("N", "measure", "Rewind", "LangGraph", "Rewind / LangGraph")
    def fmt(value):
        return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(["---"] * len(header)) + "|")
        for n, label, r, l, ratio in rows:
            print(f"| {n} | {label} | {fmt(r)} | {fmt(l)} | {ratio:.3f} (1/{1 / ratio:,.1f}) |")
    else:
        print(f"{header[0]:>6}  {header[1]:<24} {header[2]:>14} {header[3]:>14}  {header[4]}")
        for n, label, r, l, ratio in rows:
            print(f"{n:>6}  {label:<24} {fmt(r):>14} {fmt(l):>14}  {ratio:.3f} (1/{1 / ratio:,.1f})")
    reps = {int(v.get("repetitions", 1)) for v in list(rewind.values()) + list(langgraph.values())}
    print(f"\nLangGraph {langgraph_doc.get('version')} with {langgraph_doc.get('checkpointer')}; "
          f"medians of {'/'.join(map(str, sorted(reps)))} runs per size and side")


if __name__ == "__main__":
    main()
