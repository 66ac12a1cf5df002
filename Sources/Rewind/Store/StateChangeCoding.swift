import Foundation

/// Stores a ``StateChange`` in its canonical JSON form (`StateChange.json`), quickly.
///
/// The bytes are exactly those of `change.json.canonicalData`; this type only avoids the
/// per-component string searches of the general JSON Pointer code, which dominate the cost
/// of loading a long journal.
package enum StateChangeCoding {
    /// The canonical JSON bytes of a state change.
    package static func encode(_ change: StateChange) -> Data {
        switch change {
        case .snapshot(let value):
            return JSONValue.object(["snapshot": value]).canonicalData
        case .delta(let operations):
            return JSONValue.object(["delta": .array(operations.map(json))]).canonicalData
        }
    }

    /// Reads a state change back from its canonical JSON bytes.
    package static func decode(_ data: Data) throws -> StateChange {
        let json = try StoreCoding.storedJSON(data)
        if let snapshot = json["snapshot"] { return .snapshot(snapshot) }
        guard let operations = json["delta"]?.arrayValue else {
            throw RewindError(.corruptPayload, "A recorded state change is neither a snapshot nor a delta: \(json)")
        }
        return .delta(try operations.map(operation))
    }

    private static func json(_ operation: StateOperation) -> JSONValue {
        switch operation {
        case .set(let path, let value): return ["op": "set", "path": .string(pointer(path)), "value": value]
        case .remove(let path): return ["op": "remove", "path": .string(pointer(path))]
        case .append(let path, let values):
            return ["op": "append", "path": .string(pointer(path)), "values": .array(values)]
        }
    }

    private static func operation(_ json: JSONValue) throws -> StateOperation {
        guard let op = json["op"]?.stringValue, let pointer = json["path"]?.stringValue else {
            throw RewindError(.corruptPayload, "A recorded state operation is malformed: \(json)")
        }
        let path = self.path(pointer)
        switch op {
        case "set": return .set(path, json["value"] ?? .null)
        case "remove": return .remove(path)
        case "append": return .append(path, json["values"]?.arrayValue ?? [])
        default: throw RewindError(.corruptPayload, "Unknown state operation \"\(op)\".")
        }
    }

    /// `JSONPath.pointer`, without searching components that need no escaping.
    static func pointer(_ path: JSONPath) -> String {
        var text = ""
        for component in path.components {
            text.append("/")
            if component.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) {
                text.append(
                    component.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1"))
            } else {
                text.append(component)
            }
        }
        return text
    }

    /// `JSONPath(pointer)`, without searching components that have no escapes.
    static func path(_ text: String) -> JSONPath {
        guard text.utf8.first == UInt8(ascii: "/"), text != "/" else { return JSONPath(text) }
        let components = text.utf8.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            .map { bytes -> String in
                let component = String(decoding: bytes, as: UTF8.self)
                guard bytes.contains(UInt8(ascii: "~")) else { return component }
                return component.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            }
        return JSONPath(components: components)
    }
}
