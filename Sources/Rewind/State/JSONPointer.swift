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
            if var members = Self.takeObject(&parent) {
                let removed = members.removeValue(forKey: last)
                parent = .object(members)
                guard removed != nil else { throw Self.missing(path) }
            } else if var elements = Self.takeArray(&parent) {
                defer { parent = .array(elements) }
                guard let index = Int(last), elements.indices.contains(index) else { throw Self.missing(path) }
                elements.remove(at: index)
            } else {
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
            guard var elements = Self.takeArray(&target) else {
                throw RewindError(
                    .invalidArgument, "Cannot append to \(path): the value there is a \(target.typeName), not an array."
                )
            }
            elements.append(contentsOf: values)
            target = .array(elements)
        }
    }

    private static func missing(_ path: JSONPath) -> RewindError {
        RewindError(.invalidArgument, "The state has no value at \(path).")
    }

    /// Moves an object's members out of `value` (leaving `.null`), so they are uniquely
    /// referenced and change in place; `nil` (and `value` untouched) when it is not an object.
    ///
    /// The pattern match happens in its own statement: a `switch` would keep a copy of the
    /// value alive for the whole case body and every edit would copy the collection.
    private static func takeObject(_ value: inout JSONValue) -> [String: JSONValue]? {
        guard case .object(let members) = value else { return nil }
        value = .null
        return members
    }

    /// Moves an array's elements out of `value` (leaving `.null`), as ``takeObject(_:)``.
    private static func takeArray(_ value: inout JSONValue) -> [JSONValue]? {
        guard case .array(let elements) = value else { return nil }
        value = .null
        return elements
    }

    /// Runs `body` on the existing value at `components`, in place (each container on the way is
    /// moved out of its parent while it changes, so nothing is copied).
    private static func modify(
        at components: ArraySlice<String>, in target: inout JSONValue, fullPath: JSONPath,
        _ body: (inout JSONValue) throws -> Void
    ) throws {
        guard let first = components.first else { return try body(&target) }
        let rest = components.dropFirst()
        if var members = takeObject(&target) {
            defer { target = .object(members) }
            guard var child = members.removeValue(forKey: first) else { throw missing(fullPath) }
            defer { members[first] = child }
            try modify(at: rest, in: &child, fullPath: fullPath, body)
        } else if var elements = takeArray(&target) {
            defer { target = .array(elements) }
            guard let index = Int(first), elements.indices.contains(index) else { throw missing(fullPath) }
            try modify(at: rest, in: &elements[index], fullPath: fullPath, body)
        } else {
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
        if target.isNull { target = .object([:]) }
        if var members = takeObject(&target) {
            defer { target = .object(members) }
            var child = members.removeValue(forKey: first) ?? .null
            defer { members[first] = child }
            try set(value, at: rest, in: &child, fullPath: fullPath)
        } else if var elements = takeArray(&target) {
            defer { target = .array(elements) }
            let index = first == "-" ? elements.count : Int(first) ?? -1
            guard index >= 0, index <= elements.count else {
                throw RewindError(
                    .invalidArgument,
                    "Cannot set \(fullPath): \"\(first)\" is not an index of an array of \(elements.count) elements.")
            }
            if index == elements.count {
                var child = JSONValue.null
                try set(value, at: rest, in: &child, fullPath: fullPath)
                elements.append(child)
            } else {
                try set(value, at: rest, in: &elements[index], fullPath: fullPath)
            }
        } else {
            throw RewindError(
                .invalidArgument, "Cannot set \(fullPath): the value at \"\(first)\"'s parent is a \(target.typeName).")
        }
    }
}
