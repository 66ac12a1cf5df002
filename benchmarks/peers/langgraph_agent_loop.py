"""LangGraph side of the peer benchmark: the agent-loop workload on LangGraph's SQLite checkpointer.

Each iteration adds an assistant message with a tool call (~200 bytes) and a tool result
(~500 bytes), as two graph steps (an "agent" node and a "tools" node), checkpointed after every
step on a SQLite file. Prints one JSON object: for each N, the time per step, the bytes on disk,
the time to load the latest state and the time to list the history: for each, the median of
REPETITIONS runs (default 5), each on a new file.

usage: langgraph_agent_loop.py [SIZES [REPETITIONS]]
"""

import json
import operator
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from typing import Annotated, TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph


class State(TypedDict):
    messages: Annotated[list, operator.add]
    iteration: int
    limit: int


def assistant_message(i: int) -> dict:
    # ~200 bytes: an assistant turn asking for one tool call.
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{i:06d}",
                "type": "function",
                "function": {"name": "lookup", "arguments": json.dumps({"query": f"item {i} " + "q" * 60})},
            }
        ],
    }


def tool_message(i: int) -> dict:
    # ~500 bytes: the tool's result.
    return {"role": "tool", "tool_call_id": f"call_{i:06d}", "content": f"Result for item {i}: " + "x" * 460}


def agent(state: State) -> dict:
    return {"messages": [assistant_message(state["iteration"])]}


def tools(state: State) -> dict:
    return {"messages": [tool_message(state["iteration"])], "iteration": state["iteration"] + 1}


def route(state: State) -> str:
    return "agent" if state["iteration"] < state["limit"] else END


def build(checkpointer):
    graph = StateGraph(State)
    graph.add_node("agent", agent)
    graph.add_node("tools", tools)
    graph.add_edge(START, "agent")
    graph.add_edge("agent", "tools")
    graph.add_conditional_edges("tools", route)
    return graph.compile(checkpointer=checkpointer)


def file_bytes(path: str) -> int:
    return sum(os.path.getsize(path + suffix) for suffix in ("", "-wal", "-shm") if os.path.exists(path + suffix))


def measure(n: int, directory: str) -> dict:
    path = os.path.join(directory, f"langgraph-{n}-{time.time_ns()}.sqlite")
    connection = sqlite3.connect(path, check_same_thread=False)
    saver = SqliteSaver(connection)
    app = build(saver)
    config = {"configurable": {"thread_id": f"run-{n}"}, "recursion_limit": 4 * n + 10}
    start = time.perf_counter()
    app.invoke({"messages": [{"role": "user", "content": "Look things up."}], "iteration": 0, "limit": n}, config)
    elapsed = time.perf_counter() - start
    steps = 2 * n
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    size = file_bytes(path)

    # A fresh process's view: open the file again, load the latest state, list the history.
    connection = sqlite3.connect(path, check_same_thread=False)
    app = build(SqliteSaver(connection))
    load_times, history_times = [], []
    for _ in range(3):
        t = time.perf_counter()
        latest = app.get_state(config)
        load_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        history = list(app.get_state_history(config))
        history_times.append(time.perf_counter() - t)
    connection.close()
    assert len(latest.values["messages"]) == 1 + 2 * n, len(latest.values["messages"])
    return {
        "iterations": n,
        "steps": steps,
        "step_us": elapsed / steps * 1e6,
        "bytes_on_disk": size,
        "load_latest_state_ms": statistics.median(load_times) * 1e3,
        "list_history_ms": statistics.median(history_times) * 1e3,
        "history_entries": len(history),
    }


def median_of(samples: list) -> dict:
    return {key: statistics.median(sample[key] for sample in samples) for key in samples[0]}


def main() -> None:
    sizes = [int(x) for x in (sys.argv[1] if len(sys.argv) > 1 else "10,100,1000").split(",")]
    repetitions = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory() as directory:
        measure(2, directory)  # warm-up, as the Rewind side does
        results = {}
        for n in sizes:
            # Each repetition on a new file; the median of each figure, as the Rewind side reports.
            results[str(n)] = median_of([measure(n, directory) for _ in range(repetitions)])
            results[str(n)]["repetitions"] = repetitions
    import langgraph  # noqa: F401  (for the version)
    from importlib.metadata import version

    print(json.dumps({"system": "langgraph", "version": version("langgraph"),
                      "checkpointer": "langgraph-checkpoint-sqlite " + version("langgraph-checkpoint-sqlite"),
                      "results": results}, indent=2))


if __name__ == "__main__":
    main()
