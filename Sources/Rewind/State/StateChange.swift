/// How a run's state changed between two journal entries.
///
/// Most entries carry a small ``delta(_:)``; every so often an entry carries a full
/// ``snapshot(_:)`` so that the state at any position can be rebuilt from the nearest
/// snapshot and a bounded number of deltas.
public enum StateChange: Sendable, Hashable {
    /// The whole state.
    case snapshot(JSONValue)
    /// The operations that turn the previous state into this one.
    case delta([StateOperation])

    /// Applies the change to the previous state.
    public func apply(to state: JSONValue) throws -> JSONValue {
        switch self {
        case .snapshot(let value): return value
        case .delta(let operations):
            var result = state
            for operation in operations { try operation.apply(to: &result) }
            return result
        }
    }

    /// Applies the change to a state in place.
    public func apply(to state: inout JSONValue) throws {
        switch self {
        case .snapshot(let value): state = value
        case .delta(let operations): for operation in operations { try operation.apply(to: &state) }
        }
    }

    /// The change as JSON: `{"snapshot": …}` or `{"delta": [operations]}`.
    public var json: JSONValue {
        switch self {
        case .snapshot(let value): return ["snapshot": value]
        case .delta(let operations): return ["delta": .array(operations.map(\.json))]
        }
    }

    /// Reads a change from its JSON form.
    public init(json: JSONValue) throws {
        if let snapshot = json["snapshot"] {
            self = .snapshot(snapshot)
        } else if let operations = json["delta"]?.arrayValue {
            self = .delta(try operations.map(StateOperation.init(json:)))
        } else {
            throw RewindError(.corruptPayload, "A recorded state change is neither a snapshot nor a delta: \(json)")
        }
    }
}

/// One edit of a JSON document.
public enum StateOperation: Sendable, Hashable {
    /// Sets the value at a path.
    case set(JSONPath, JSONValue)
    /// Removes the value at a path.
    case remove(JSONPath)
    /// Appends elements to the array at a path.
    case append(JSONPath, [JSONValue])

    /// Applies the edit.
    public func apply(to document: inout JSONValue) throws {
        switch self {
        case .set(let path, let value): try document.set(value, at: path)
        case .remove(let path): try document.remove(at: path)
        case .append(let path, let values):
            do {
                try document.append(contentsOf: values, at: path)
            } catch let error as RewindError where error.code == .invalidArgument {
                throw RewindError(
                    .corruptPayload, "A recorded state delta appends to \(path), which is not an array.",
                    underlying: error)
            }
        }
    }

    /// The edit as JSON.
    public var json: JSONValue {
        switch self {
        case .set(let path, let value): return ["op": "set", "path": .string(path.pointer), "value": value]
        case .remove(let path): return ["op": "remove", "path": .string(path.pointer)]
        case .append(let path, let values):
            return ["op": "append", "path": .string(path.pointer), "values": .array(values)]
        }
    }

    /// Reads an edit from its JSON form.
    public init(json: JSONValue) throws {
        guard let op = json["op"]?.stringValue, let pointer = json["path"]?.stringValue else {
            throw RewindError(.corruptPayload, "A recorded state operation is malformed: \(json)")
        }
        let path = JSONPath(pointer)
        switch op {
        case "set": self = .set(path, json["value"] ?? .null)
        case "remove": self = .remove(path)
        case "append": self = .append(path, json["values"]?.arrayValue ?? [])
        default: throw RewindError(.corruptPayload, "Unknown state operation \"\(op)\".")
        }
    }
}

extension JSONValue {
    /// The edits that turn `old` into `new`: appends for arrays that grew at the end, and
    /// per-key edits for objects, so a growing conversation records only its new messages.
    public static func difference(
        from old: JSONValue, to new: JSONValue, at path: JSONPath = .root
    )
        -> [StateOperation]
    {
        if old == new { return [] }
        switch (old, new) {
        case (.object(let oldMembers), .object(let newMembers)):
            var operations: [StateOperation] = []
            for key in oldMembers.keys.sorted() where newMembers[key] == nil {
                operations.append(.remove(path.appending(key)))
            }
            for key in newMembers.keys.sorted() {
                let newValue = newMembers[key]!
                if let oldValue = oldMembers[key] {
                    operations += difference(from: oldValue, to: newValue, at: path.appending(key))
                } else {
                    operations.append(.set(path.appending(key), newValue))
                }
            }
            return operations
        case (.array(let oldElements), .array(let newElements))
        where newElements.count > oldElements.count && Array(newElements.prefix(oldElements.count)) == oldElements:
            return [.append(path, Array(newElements.dropFirst(oldElements.count)))]
        default:
            return [.set(path, new)]
        }
    }
}
