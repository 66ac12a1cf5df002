import Testing

@testable import Rewind

@Suite("State deltas", .tags(.state))
struct StateChangeTests {
    @Test func growingArraysAreRecordedAsAppends() throws {
        let old: JSONValue = ["messages": ["hi", "hello"], "iteration": 1]
        let new: JSONValue = ["messages": ["hi", "hello", "how are you"], "iteration": 2]
        let delta = JSONValue.difference(from: old, to: new)
        #expect(delta.contains(.append(JSONPath("/messages"), ["how are you"])))
        #expect(delta.contains(.set(JSONPath("/iteration"), 2)))
        #expect(try StateChange.delta(delta).apply(to: old) == new)
    }

    @Test func removalsAndNestedChangesRoundTrip() throws {
        let old: JSONValue = ["a": ["b": 1, "c": 2], "gone": true, "list": [1, 2, 3]]
        let new: JSONValue = ["a": ["b": 1, "c": 3, "d": ["x"]], "list": [3]]
        let change = StateChange.delta(JSONValue.difference(from: old, to: new))
        #expect(try change.apply(to: old) == new)
        // The JSON form reads back as the same change.
        #expect(try StateChange(json: change.json) == change)
    }

    @Test func pathsParseInBothForms() throws {
        #expect(JSONPath("/variables/max_retries").components == ["variables", "max_retries"])
        #expect(JSONPath("variables.max_retries").components == ["variables", "max_retries"])
        #expect(JSONPath("/a~1b/c~0d").components == ["a/b", "c~d"])
        var doc: JSONValue = ["messages": [["role": "user"]]]
        try doc.set("assistant", at: JSONPath("/messages/0/role"))
        #expect(doc[path: JSONPath("messages.0.role")] == "assistant")
        #expect(throws: RewindError.self) { try doc.set(1, at: JSONPath("/messages/5")) }
        #expect(throws: RewindError.self) { try doc.remove(at: JSONPath("/nope")) }
    }
}

@Suite("Growing state")
struct GrowingStateTests {
    @Test func appendInPlaceExtendsNestedArraysAndRejectsNonArrays() throws {
        var document: JSONValue = ["chat": ["messages": ["a"]], "n": 1]
        try document.append(contentsOf: ["b", "c"], at: JSONPath("chat.messages"))
        #expect(document[path: JSONPath("chat.messages")] == ["a", "b", "c"])
        try document.append(contentsOf: [1], at: JSONPath("/new/list"))
        #expect(document[path: JSONPath("/new/list")] == [1])
        #expect(throws: RewindError.self) { try document.append(contentsOf: [1], at: JSONPath("n")) }
        #expect(document["n"] == 1)
        #expect(throws: RewindError.self) { try document.remove(at: JSONPath("chat.missing")) }
        #expect(document[path: JSONPath("chat.messages")] == ["a", "b", "c"])
    }

    @Test func explicitOperationsAreRecordedAsTheyAreWithSnapshotsLinearInTheGrowth() async throws {
        let store = InMemoryStore()
        let runtime = Runtime(store: store)
        let message: JSONValue = ["role": "tool", "content": .string(String(repeating: "x", count: 500))]
        let workflow = Workflow<Int, Int>("growing") { ctx, n in
            try ctx.setState(["messages": [], "iteration": 0] as JSONValue)
            for i in 0..<n {
                try ctx.updateState([.append(JSONPath("messages"), [message]), .set(JSONPath("iteration"), .int(i))])
                _ = try await ctx.step("turn-\(i)") { i }
            }
            return n
        }
        _ = try await runtime.run(workflow, input: 2000, id: "grow")
        let journal = try await store.journal(of: "grow")
        var state = JSONValue.null
        var snapshotBytes = 0
        var deltaBytes = 0
        for entry in journal {
            switch entry.state {
            case .snapshot(let value)?: snapshotBytes += value.canonicalData.count
            case .delta(let operations)?:
                #expect(operations.count == 2)
                deltaBytes += JSONValue.array(operations.map(\.json)).canonicalData.count
            case nil: break
            }
            try entry.state?.apply(to: &state)
        }
        #expect(state["messages"]?.arrayValue?.count == 2000)
        #expect(state["iteration"] == 1999)
        // Doubling snapshots: all of them together are at most about twice the final state.
        let finalSize = state.canonicalData.count
        #expect(snapshotBytes <= 2 * finalSize + 4096)
        #expect(deltaBytes >= 2000 * 500)
    }
}
