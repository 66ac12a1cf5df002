import Logging

/// A log handler that applies a ``Redactor`` to every message and metadata value before
/// handing the record to the handler it wraps.
///
/// A ``Runtime`` wraps its logger in one (with ``Runtime/Configuration/redactor``), so an
/// error that quotes a request's `Authorization` header does not put the key in a log.
///
/// ```swift
/// let logger = Logger(label: "app") { label in
///     RedactingLogHandler(wrapping: StreamLogHandler.standardError(label: label))
/// }
/// ```
public struct RedactingLogHandler: LogHandler {
    /// The handler that writes.
    public var wrapped: any LogHandler
    /// The rules applied.
    public let redactor: Redactor

    /// Wraps a handler.
    public init(wrapping handler: any LogHandler, redactor: Redactor = .standard) {
        wrapped = (handler as? RedactingLogHandler)?.wrapped ?? handler
        self.redactor = redactor
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue.mapValues(redact) }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue.map(redact) }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = "\(redactor.redacting(event.message.description))"
        event.metadata = event.metadata?.mapValues(redact)
        if let error = event.error { event.error = RedactedError(description: redactor.redacting("\(error)")) }
        wrapped.log(event: event)
    }

    /// An error attached to a log record, as its redacted description.
    struct RedactedError: Error, CustomStringConvertible {
        var description: String
    }

    private func redact(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): return .string(redactor.redacting(text))
        case .stringConvertible(let convertible): return .string(redactor.redacting(convertible.description))
        case .array(let values): return .array(values.map(redact))
        case .dictionary(let members):
            var result: Logger.Metadata = [:]
            for (key, member) in members {
                let lowered = key.lowercased()
                result[key] =
                    redactor.rules.contains(where: { rule in
                        if case .keys(_, let keys) = rule { return keys.contains { $0.lowercased() == lowered } }
                        return false
                    }) ? .string(Redactor.replacement) : redact(member)
            }
            return .dictionary(result)
        }
    }
}
