import Foundation
import Testing

@testable import Rewind

/// Forks (state patches, replaced outcomes, forks of forks), history, inspect and compare.
@Suite("Time travel: fork, inspect, compare")
struct TimeTravelTests {
    let store = InMemoryStore()

    /// Six steps; each output is the step's value capped by `config.limits.max` from the state.
    static let capped = Workflow<Int, [Int]>("capped") { ctx, count in
        if ctx.state.isNull {
            try ctx.setState(["step": 0, "config": ["limits": ["max": 100]]] as JSONValue)
        }
        var outputs: [Int] = []
        for index in 0..<count {
            let max = ctx.state[path: JSONPath("config.limits.max")]?.intValue ?? 100
            let fetched = try await ctx.step("fetch-\(index)") { index * 10 }
            outputs.append(min(fetched, max))
            try ctx.updateState { $0["step"] = .int(index + 1) }
        }
        return outputs
    }

    func runtime() -> Runtime {
        let runtime = Runtime(store: store)
        runtime.register(Self.capped)
        return runtime
    }

    func parent(_ runtime: Runtime) async throws -> RunID {
        let output = try await runtime.run(Self.capped, input: 6, id: "parent")
        #expect(output == [0, 10, 20, 30, 40, 50])
        return "parent"
    }

    func output(_ runtime: Runtime, _ id: RunID) async throws -> [Int] {
        try await runtime.result(of: id, as: [Int].self)
    }

    @Test func forkAtTheFirstAMiddleAndTheLastEntry() async throws {
        let runtime = runtime()
        let parent = try await parent(runtime)
        let before = try await store.journal(of: parent)
        let max15 = [StateOperation.set(JSONPath("config.limits.max"), 15)]

        let first = try await runtime.fork(parent, at: 0, id: "first", start: true)
        #expect(try await output(runtime, first.id) == [0, 10, 20, 30, 40, 50])
        #expect(try await store.ownEntries(of: "first", in: 0..<Int.max).count == 6, "nothing shared")

        let middle = try await runtime.fork(parent, at: 3, setting: max15, id: "middle", start: true)
        #expect(middle.parentRunID == parent && middle.forkSeq == 3)
        #expect(try await output(runtime, "middle") == [0, 10, 20, 15, 15, 15])
        #expect(
            try await store.ownEntries(of: "middle", in: 0..<Int.max).map(\.seq) == [3, 4, 5], "prefix by reference")

        _ = try await runtime.fork(parent, at: 5, setting: max15, id: "last", start: true)
        #expect(try await output(runtime, "last") == [0, 10, 20, 30, 40, 15])
        #expect(try await store.journal(of: parent) == before, "the parent is unchanged")
    }

    @Test func nestedPatchesReplacedOutcomesAndForksOfForks() async throws {
        let runtime = runtime()
        let parent = try await parent(runtime)
        _ = try await runtime.fork(parent, at: 4, replacing: [1: 7], id: "replaced", start: true)
        #expect(try await output(runtime, "replaced") == [0, 7, 20, 30, 40, 50])
        let history = try await store.history(of: "replaced")
        #expect(history.items[1].replaced && history.items[1].shared)
        #expect(history.items[1].outcomeSummary == "7")
        #expect(try await store.journal(of: parent)[1].outcome == .value(Payload(10)), "the parent keeps 10")

        _ = try await runtime.fork(
            parent, at: 3, setting: [.set(JSONPath("/config/limits/max"), 15)], id: "child", start: true)
        #expect(try await output(runtime, "child") == [0, 10, 20, 15, 15, 15])
        let grandchild = try await runtime.fork(
            "child", at: 5, setting: [.set(JSONPath("config.limits.max"), 5)], id: "grandchild", start: true)
        #expect(grandchild.parentRunID == "child")
        #expect(try await output(runtime, "grandchild") == [0, 10, 20, 15, 15, 5])
        // A new key may be added to an existing object.
        _ = try await runtime.fork(
            parent, at: 2, setting: [.set(JSONPath("config.note"), "added")], id: "added", start: true)
        _ = try await output(runtime, "added")
        #expect(try await store.state(of: "added", at: 2)[path: JSONPath("config.note")] == "added")
    }

    @Test func stateAtAnySeqMatchesFoldingTheJournal() async throws {
        var configuration = Runtime.Configuration()
        configuration.stateSnapshotInterval = 3
        let runtime = Runtime(store: store, configuration: configuration)
        _ = try await runtime.run(Self.capped, input: 6, id: "folded")
        let journal = try await store.journal(of: "folded")
        var state = JSONValue.null
        for entry in journal {
            try entry.state?.apply(to: &state)
            #expect(try await store.state(of: "folded", at: entry.seq) == state, "seq \(entry.seq)")
        }
        let inspection = try await store.inspect("folded", at: 3)
        #expect(inspection.entry.name == "fetch-3")
        #expect(inspection.state["step"] == 3)
        await #expect(throws: RewindError.self) { _ = try await store.state(of: "folded", at: 6) }
    }

    @Test func badForksAreRefusedAndWriteNothing() async throws {
        let runtime = runtime()
        let parent = try await parent(runtime)
        let count = try await store.listRuns(RunQuery()).count
        func refused(_ body: () async throws -> RunRecord, _ text: String) async {
            await #expect {
                _ = try await body()
            } throws: { error in
                (error as? RewindError)?.message.contains(text) == true
            }
        }
        await refused({ try await runtime.fork(parent, at: 7) }, "the fork point is 0…6")
        await refused({ try await runtime.fork(parent, at: -1) }, "the fork point is 0…6")
        await refused(
            { try await runtime.fork(parent, at: 3, setting: [.set(JSONPath("config.missing.max"), 1)]) },
            "the state has no object at /config/missing")
        await refused(
            { try await runtime.fork(parent, at: 3, setting: [.remove(JSONPath("nope"))]) }, "no value at /nope")
        await refused({ try await runtime.fork(parent, at: 3, replacing: [1: "text"]) }, "recorded a number")
        await refused({ try await runtime.fork(parent, at: 3, replacing: [4: 1]) }, "only shared entries")
        await refused({ try await runtime.fork(parent, at: 3, id: parent) }, "already exists")
        #expect(try await store.listRuns(RunQuery()).count == count, "nothing written")

        // A run that is running elsewhere cannot be forked.
        _ = try await store.createRun(RunRecord(id: "busy", workflow: "capped", input: 1))
        _ = try await store.acquire(
            "busy", lease: Lease(owner: "other-host:1:x", expiresAt: Date().addingTimeInterval(60)), now: Date(),
            force: false)
        await refused({ try await runtime.fork("busy", at: 0) }, "is running")
    }

    @Test func compareFindsTheFirstDivergence() async throws {
        let runtime = runtime()
        let parent = try await parent(runtime)
        _ = try await runtime.run(Self.capped, input: 6, id: "twin")
        let twins = try await store.compare(parent, "twin")
        #expect(twins.divergence == nil)
        #expect(twins.identicalPrefix == 6)

        _ = try await runtime.fork(
            parent, at: 3, setting: [.set(JSONPath("config.limits.max"), 15)], id: "f", start: true)
        _ = try await output(runtime, "f")
        // The fork re-runs fetch-3 with the same input and outcome: identical until the outputs differ in state.
        let forked = try await store.compare(parent, "f")
        #expect(forked.identicalPrefix >= 3)
        #expect(forked.divergence.map { $0.seq >= 3 } ?? true)

        _ = try await runtime.fork(parent, at: 2, replacing: [0: 99], id: "g", start: true)
        _ = try await output(runtime, "g")
        let replaced = try await store.compare(parent, "g")
        #expect(replaced.divergence?.seq == 0)
        #expect(replaced.divergence?.kind == .outcome)

        let shorter = Workflow<Int, [Int]>("capped") { ctx, _ in [try await ctx.step("fetch-0") { 0 }] }
        let other = Runtime(store: store)
        _ = try await other.run(shorter, input: 1, id: "short")
        let length = try await store.compare(parent, "short")
        #expect(length.divergence?.seq == 1)
        #expect(length.divergence?.kind == .length)
        #expect(length.divergence?.stateDifference.isEmpty == false)
    }

    @Test func differentToolSequencesDivergeAtTheFirstDifferentCall() async throws {
        func agentLike(_ tools: [String]) -> Workflow<Int, Int> {
            Workflow("tools") { ctx, _ in
                for tool in tools {
                    _ = try await ctx.perform(
                        OperationRequest(kind: .tool, name: tool, input: ["q": "x"], recordInput: true)
                    ) {
                        _ in LiveResult(payload: Payload("ok"))
                    }
                }
                return tools.count
            }
        }
        _ = try await Runtime(store: store).run(agentLike(["search", "search", "fetch"]), input: 0, id: "a")
        _ = try await Runtime(store: store).run(agentLike(["search", "fetch"]), input: 0, id: "b")
        let comparison = try await store.compare("a", "b")
        #expect(comparison.left.toolCalls.map(\.name) == ["search", "search", "fetch"])
        #expect(comparison.right.toolCalls.map(\.name) == ["search", "fetch"])
        #expect(comparison.divergence?.seq == 1)
        #expect(comparison.divergence?.kind == .operation)
        #expect(comparison.divergence?.summary.contains("tool \"search\"") == true)
    }
}
