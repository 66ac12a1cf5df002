import Foundation

extension JSONValue {
    /// About how many bytes the value takes in its canonical encoding, computed without
    /// encoding it (string escapes are not counted; numbers count as their digits).
    public var approximateEncodedSize: Int {
        switch self {
        case .null: return 4
        case .bool(let value): return value ? 4 : 5
        case .int(let value): return value == 0 ? 1 : Int(log10(Double(value.magnitude))) + (value < 0 ? 2 : 1)
        case .double: return 12
        case .string(let value): return value.utf8.count + 2
        case .array(let elements): return elements.reduce(elements.count + 1) { $0 + $1.approximateEncodedSize }
        case .object(let members):
            return members.reduce(members.count * 2 + 1) {
                $0 + $1.key.utf8.count + 2 + $1.value.approximateEncodedSize
            }
        }
    }
}

extension JSONPath {
    /// The length of the JSON Pointer, escapes not counted.
    fileprivate var approximatePointerSize: Int { components.reduce(0) { $0 + 1 + $1.utf8.count } }
}

extension StateOperation {
    /// About how many bytes the operation takes when recorded.
    public var approximateEncodedSize: Int {
        switch self {
        case .set(let path, let value): return 30 + path.approximatePointerSize + value.approximateEncodedSize
        case .remove(let path): return 26 + path.approximatePointerSize
        case .append(let path, let values):
            return 32 + path.approximatePointerSize + values.reduce(values.count) { $0 + $1.approximateEncodedSize }
        }
    }
}

extension StateChange {
    /// About how many bytes the change takes when recorded.
    public var approximateEncodedSize: Int {
        switch self {
        case .snapshot(let value): return 13 + value.approximateEncodedSize
        case .delta(let operations): return operations.reduce(10 + operations.count) { $0 + $1.approximateEncodedSize }
        }
    }
}
