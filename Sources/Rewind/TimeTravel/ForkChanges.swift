import Foundation

/// What a fork changes in the run it was forked from, as kept in ``RunRecord/forkChanges``:
/// `{"state": [operations], "replace": {"SEQ": value}}`.
public struct ForkChanges: Sendable, Hashable {
    /// Edits of the state at the fork point, applied once the shared prefix has been served.
    public var state: [StateOperation]
    /// Outcomes of shared entries served instead of the recorded ones, by position.
    public var replacedOutcomes: [Int: JSONValue]

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
    }

    /// The form kept in a run record, or `nil` when nothing changes.
    public var json: JSONValue? {
        if state.isEmpty, replacedOutcomes.isEmpty { return nil }
        var members: [String: JSONValue] = [:]
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
}
