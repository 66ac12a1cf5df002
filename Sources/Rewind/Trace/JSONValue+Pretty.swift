import Foundation

extension JSONValue {
    /// The value as indented JSON with sorted keys and the canonical number and string forms:
    /// stable from one run to the next, so files written with it diff cleanly.
    public func prettyData(indent: Int = 2) -> Data {
        var bytes: [UInt8] = []
        writePretty(into: &bytes, depth: 0, indent: indent)
        bytes.append(UInt8(ascii: "\n"))
        return Data(bytes)
    }

    private func writePretty(into bytes: inout [UInt8], depth: Int, indent: Int) {
        func newline(_ depth: Int) {
            bytes.append(UInt8(ascii: "\n"))
            bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: depth * indent))
        }
        switch self {
        case .array(let elements) where !elements.isEmpty:
            bytes.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                newline(depth + 1)
                element.writePretty(into: &bytes, depth: depth + 1, indent: indent)
            }
            newline(depth)
            bytes.append(UInt8(ascii: "]"))
        case .object(let members) where !members.isEmpty:
            bytes.append(UInt8(ascii: "{"))
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (index, key) in keys.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                newline(depth + 1)
                Self.writeString(key, into: &bytes)
                bytes.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
                members[key]!.writePretty(into: &bytes, depth: depth + 1, indent: indent)
            }
            newline(depth)
            bytes.append(UInt8(ascii: "}"))
        default:
            write(into: &bytes)
        }
    }
}
