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
