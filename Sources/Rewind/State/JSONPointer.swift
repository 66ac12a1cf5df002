import Foundation

/// A path into a JSON document, written as a JSON Pointer (`/messages/3/content`) or with dots
/// (`messages.3.content`).
public struct JSONPath: Hashable, Sendable, CustomStringConvertible {
    /// The path's components: object keys, or array indexes written as digits.
    public var components: [String]

    /// The whole document.
    public static let root = JSONPath(components: [])

    /// Creates a path from components.
    public init(components: [String]) { self.components = components }

    /// Parses `/a/b/0` (JSON Pointer, with `~0` and `~1` escapes) or `a.b.0`.
    public init(_ text: String) {
        if text.isEmpty || text == "/" || text == "." {
            components = []
        } else if text.hasPrefix("/") {
            components = text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
                $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            }
        } else {
            components = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        }
    }

    /// The JSON Pointer form.
    public var pointer: String {
        components.map { "/" + $0.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1") }
            .joined()
    }

    public var description: String { pointer.isEmpty ? "/" : pointer }

    /// The path one level down.
    public func appending(_ component: String) -> JSONPath { JSONPath(components: components + [component]) }
}

extension JSONValue {
    /// The value at a path, or `nil` when the path does not exist.
    public subscript(path path: JSONPath) -> JSONValue? {
        var current = self
        for component in path.components {
            switch current {
            case .object(let members):
                guard let next = members[component] else { return nil }
                current = next
            case .array(let elements):
                guard let index = Int(component), elements.indices.contains(index) else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }

    /// Sets the value at a path.
    ///
    /// Missing objects along the way are created; the last component
    /// of an array path may be the array's count (or `-`) to append.
    ///
    /// - Throws: ``RewindError`` `invalidArgument` naming the path when it crosses a value
    ///   that is neither an object nor an array, or an index out of range.
    public mutating func set(_ value: JSONValue, at path: JSONPath) throws {
        try Self.set(value, at: path.components[...], in: &self, fullPath: path)
    }

    /// Removes the value at a path.
    ///
    /// - Throws: ``RewindError`` `invalidArgument` when the path does not exist.
    public mutating func remove(at path: JSONPath) throws {
        guard let last = path.components.last else {
            self = .null
            return
        }
        try Self.modify(at: path.components.dropLast(), in: &self, fullPath: path) { parent in
            switch parent {
            case .object(var members):
                parent = .null  // keep `members` uniquely referenced while it changes
                let removed = members.removeValue(forKey: last)
                parent = .object(members)
                guard removed != nil else { throw Self.missing(path) }
            case .array(var elements):
                guard let index = Int(last), elements.indices.contains(index) else { throw Self.missing(path) }
                parent = .null
                elements.remove(at: index)
                parent = .array(elements)
            default:
                throw Self.missing(path)
            }
        }
    }

    /// Appends elements to the array at a path (creating the array when the path does not exist),
    /// in place: the cost does not depend on the array's length.
    ///
    /// - Throws: ``RewindError`` `invalidArgument` when the value at the path is not an array.
    public mutating func append(contentsOf values: [JSONValue], at path: JSONPath) throws {
        if self[path: path] == nil { try set(.array([]), at: path) }
        try Self.modify(at: path.components[...], in: &self, fullPath: path) { target in
            guard case .array(var elements) = target else {
                throw RewindError(
                    .invalidArgument, "Cannot append to \(path): the value there is a \(target.typeName), not an array."
                )
            }
            target = .null
            elements.append(contentsOf: values)
            target = .array(elements)
        }
    }

    private static func missing(_ path: JSONPath) -> RewindError {
        RewindError(.invalidArgument, "The state has no value at \(path).")
    }

    /// Runs `body` on the existing value at `components`, in place (each container on the way is
    /// detached from `target` while it changes, so nothing is copied).
    private static func modify(
        at components: ArraySlice<String>, in target: inout JSONValue, fullPath: JSONPath,
        _ body: (inout JSONValue) throws -> Void
    ) throws {
        guard let first = components.first else { return try body(&target) }
        let rest = components.dropFirst()
        switch target {
        case .object(var members):
            guard var child = members[first] else { throw missing(fullPath) }
            target = .null
            members[first] = nil
            defer {
                members[first] = child
                target = .object(members)
            }
            try modify(at: rest, in: &child, fullPath: fullPath, body)
        case .array(var elements):
            guard let index = Int(first), elements.indices.contains(index) else { throw missing(fullPath) }
            target = .null
            defer { target = .array(elements) }
            try modify(at: rest, in: &elements[index], fullPath: fullPath, body)
        default:
            throw missing(fullPath)
        }
    }

    private static func set(
        _ value: JSONValue, at components: ArraySlice<String>, in target: inout JSONValue, fullPath: JSONPath
    ) throws {
        guard let first = components.first else {
            target = value
            return
        }
        let rest = components.dropFirst()
        switch target {
        case .null:
            target = .object([:])
            try set(value, at: components, in: &target, fullPath: fullPath)
        case .object(var members):
            var child = members[first] ?? .null
            target = .null  // keep `members` and `child` uniquely referenced while they change
            members[first] = nil
            defer {
                members[first] = child
                target = .object(members)
            }
            try set(value, at: rest, in: &child, fullPath: fullPath)
        case .array(var elements):
            let index = first == "-" ? elements.count : Int(first) ?? -1
            guard index >= 0, index <= elements.count else {
                throw RewindError(
                    .invalidArgument,
                    "Cannot set \(fullPath): \"\(first)\" is not an index of an array of \(elements.count) elements.")
            }
            target = .null
            defer { target = .array(elements) }
            if index == elements.count {
                var child = JSONValue.null
                try set(value, at: rest, in: &child, fullPath: fullPath)
                elements.append(child)
            } else {
                try set(value, at: rest, in: &elements[index], fullPath: fullPath)
            }
        default:
            throw RewindError(
                .invalidArgument, "Cannot set \(fullPath): the value at \"\(first)\"'s parent is a \(target.typeName).")
        }
    }
}
