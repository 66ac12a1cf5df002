import Foundation

/// What a fork changes in the run it was forked from, as kept in ``RunRecord/forkChanges``:
/// `{"state": [operations], "replace": {"SEQ": value}}`.
public struct ForkChanges: Sendable, Hashable {
    /// Edits of the state at the fork point, applied once the shared prefix has been served.
    public var state: [StateOperation]
    /// Outcomes of shared entries served instead of the recorded ones, by position.
    public var replacedOutcomes: [Int: JSONValue]
    /// State patches of the forks an imported run descended from (a trace of a fork carries
    /// them, since the imported run has no parent).
    var inheritedPatches: [StatePatch] = []

    /// Creates changes.
    public init(state: [StateOperation] = [], replacedOutcomes: [Int: JSONValue] = [:]) {
        self.state = state
        self.replacedOutcomes = replacedOutcomes
    }

    /// Reads the changes kept in a run record (none when `nil`).
    public init(_ json: JSONValue?) throws {
        guard let json, !json.isNull else {
            self.init()
            return
        }
        let operations = try (json["state"]?.arrayValue ?? []).map(StateOperation.init(json:))
        var replaced: [Int: JSONValue] = [:]
        if case .object(let members)? = json["replace"] {
            for (key, value) in members {
                guard let seq = Int(key) else {
                    throw RewindError(
                        .corruptPayload, "A fork's replaced outcome has a position \"\(key)\" that is not a number.")
                }
                replaced[seq] = value
            }
        }
        self.init(state: operations, replacedOutcomes: replaced)
        inheritedPatches = try StatePatch.list(json["patches"])
    }

    /// The form kept in a run record, or `nil` when nothing changes.
    public var json: JSONValue? {
        if state.isEmpty, replacedOutcomes.isEmpty, inheritedPatches.isEmpty { return nil }
        var members: [String: JSONValue] = [:]
        if !inheritedPatches.isEmpty { members["patches"] = StatePatch.json(inheritedPatches) }
        if !state.isEmpty { members["state"] = .array(state.map(\.json)) }
        if !replacedOutcomes.isEmpty {
            members["replace"] = .object(
                Dictionary(uniqueKeysWithValues: replacedOutcomes.map { (String($0.key), $0.value) }))
        }
        return .object(members)
    }
}

/// State edits applied at a position of a run's execution (a fork point).
struct StatePatch: Sendable, Hashable {
    /// The position: the edits apply once the entries before it have been served.
    var position: Int
    var operations: [StateOperation]

    static func json(_ patches: [StatePatch]) -> JSONValue {
        .array(patches.map { ["position": .int($0.position), "operations": .array($0.operations.map(\.json))] })
    }

    static func list(_ json: JSONValue?) throws -> [StatePatch] {
        try (json?.arrayValue ?? []).map { patch in
            guard let position = patch["position"]?.intValue, let operations = patch["operations"]?.arrayValue else {
                throw RewindError(.corruptPayload, "A state patch is malformed: \(patch.canonicalString)")
            }
            return StatePatch(position: position, operations: try operations.map(StateOperation.init(json:)))
        }
    }
}
