import Foundation
import Rewind

extension RewindServer {
    /// Where the debugger listens, who may use it, and how much it shows inline.
    public struct Configuration: Sendable {
        /// The address to bind: `127.0.0.1` (the default) or `::1`/`localhost`; any other
        /// address needs a ``token``.
        public var host: String
        /// The port to bind; `0` takes a free one (the bound port is passed to `onServerRunning`).
        public var port: Int
        /// A secret every request must carry, when set.
        ///
        /// It is read from `Authorization: Bearer TOKEN`, the `rewind_token` cookie, or
        /// `?token=TOKEN` once (which sets the cookie). Required when ``host`` is not a loopback address.
        public var token: String?
        /// The path the debugger is mounted under in an application of your own (`""` at the root, or `/debug`).
        public var basePath: String
        /// Payloads larger than this many bytes are cut in the pages, with a link to the whole JSON.
        public var inlinePayloadLimit: Int
        /// The largest request body accepted (a fork's patch, a signal's payload), in bytes.
        public var maxRequestBodyBytes: Int
        /// How often the pages look for changes while a run is running, in seconds.
        public var refreshInterval: Double
        /// The most runs the runs list shows.
        public var runsListLimit: Int
        /// Host names the `Host` header may carry besides the loopback names and ``host``.
        ///
        /// For a reverse proxy. Only checked while ``host`` is a loopback address.
        public var allowedHostNames: Set<String>
        /// Whether a worker executes due runs next to the server (shown after an approval).
        public var runsWorker: Bool
        /// What the pages call the store (a file path or a URL without its password).
        public var storeDescription: String?

        /// The secret the forms carry against cross-site requests: new for every server.
        let csrfToken: String

        /// Creates a configuration; the default binds 127.0.0.1:8080 without a token.
        public init(
            host: String = "127.0.0.1", port: Int = 8080, token: String? = nil, basePath: String = "",
            inlinePayloadLimit: Int = 64 * 1024, maxRequestBodyBytes: Int = 1 << 20, refreshInterval: Double = 2,
            runsListLimit: Int = 200, allowedHostNames: Set<String> = [], runsWorker: Bool = false,
            storeDescription: String? = nil
        ) {
            self.host = host
            self.port = port
            self.token = token
            self.basePath = basePath
            self.inlinePayloadLimit = inlinePayloadLimit
            self.maxRequestBodyBytes = maxRequestBodyBytes
            self.refreshInterval = refreshInterval
            self.runsListLimit = runsListLimit
            self.allowedHostNames = allowedHostNames
            self.runsWorker = runsWorker
            self.storeDescription = storeDescription
            var generator = SystemRandomNumberGenerator()
            csrfToken = (0..<4).map { _ in String(generator.next(), radix: 16) }.joined()
        }

        /// Whether a host name or address is this machine's loopback.
        public static func isLoopback(_ host: String) -> Bool {
            let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            if name == "localhost" || name == "::1" || name.hasSuffix(".localhost") { return true }
            let parts = name.split(separator: ".")
            return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
        }

        static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "-_.~".unicodeScalars.contains(scalar))
        }

        /// Checks the configuration.
        ///
        /// - Throws: ``RewindError`` `invalidArgument` for a non-loopback host without a token,
        ///   a token shorter than 8 characters, a port out of range, or a base path that does
        ///   not start with `/`.
        public func validate() throws {
            guard (0...65535).contains(port) else {
                throw RewindError(
                    .invalidArgument, "The port \(port) is out of range: use 0 to 65535 (0 takes a free port).")
            }
            if let token {
                guard token.count >= 8, token.unicodeScalars.allSatisfy(Self.isTokenCharacter) else {
                    throw RewindError(
                        .invalidArgument,
                        "The token must be at least 8 characters of letters, digits, '-', '_', '.' or '~'.")
                }
            } else if !Self.isLoopback(host) {
                throw RewindError(
                    .invalidArgument,
                    "Refusing to serve on \(host) without a token: anyone who can reach it could read every run and fork or signal them. Pass --token SECRET (every request must then carry it), or bind 127.0.0.1."
                )
            }
            guard basePath.isEmpty || (basePath.hasPrefix("/") && !basePath.hasSuffix("/")) else {
                throw RewindError(
                    .invalidArgument, "The base path must be empty or start with / and not end with / (like /debug).")
            }
            guard inlinePayloadLimit > 0, maxRequestBodyBytes > 0, refreshInterval > 0, runsListLimit > 0 else {
                throw RewindError(
                    .invalidArgument, "The payload limit, body limit, refresh interval and runs limit must be positive."
                )
            }
        }
    }
}
