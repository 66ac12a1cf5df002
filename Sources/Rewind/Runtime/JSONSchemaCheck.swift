/// Checks a JSON value against the common subset of JSON Schema used for signal payloads:
/// `type`, `enum`, `required`, `properties` and `items`.
enum JSONSchemaCheck {
    /// The first problem found, as a sentence, or `nil` when the value matches.
    static func problem(with value: JSONValue, against schema: JSONValue, at path: String = "the payload") -> String? {
        if let type = schema["type"]?.stringValue, !matches(value, type: type) {
            return "\(path) must be of type \(type), not \(value.typeName)"
        }
        if let allowed = schema["enum"]?.arrayValue, !allowed.contains(value) {
            return "\(path) must be one of \(JSONValue.array(allowed).canonicalString)"
        }
        if case .object(let members) = value {
            for key in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where members[key] == nil {
                return "\(path) is missing the required key \"\(key)\""
            }
            for (key, propertySchema) in schema["properties"]?.objectValue ?? [:] {
                if let member = members[key],
                    let problem = problem(with: member, against: propertySchema, at: "\(path).\(key)")
                {
                    return problem
                }
            }
        }
        if case .array(let elements) = value, let items = schema["items"] {
            for (index, element) in elements.enumerated() {
                if let problem = problem(with: element, against: items, at: "\(path)[\(index)]") { return problem }
            }
        }
        return nil
    }

    private static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("string", .string), ("boolean", .bool), ("null", .null), ("array", .array), ("object", .object):
            return true
        case ("number", .int), ("number", .double), ("integer", .int):
            return true
        case ("integer", .double(let number)):
            return number.rounded() == number
        default:
            return false
        }
    }
}
