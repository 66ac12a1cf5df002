import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Rewind
import Synchronization

/// A real OpenAI-compatible HTTP server on 127.0.0.1 whose answers depend only on the request,
/// and which logs every request it receives (adapted from RewindAgentsTests' FixtureServer).
///
/// Child `rewind` processes use it through `OPENAI_BASE_URL`, so the log counts the model calls
/// the processes made — including calls whose process was killed before it recorded the answer.
final class ModelServer: Sendable {
    /// A request as the server received it: the text of its last message.
    struct Request: Sendable {
        var path: String
        var lastMessage: String
        /// The SHA-256 of the request body's canonical JSON.
        var bodyHash: String
        /// Whether the server answered it (a hook may drop it instead).
        var answered: Bool
    }

    /// Makes the assistant message of the answer (`role`, `content`, `tool_calls`) from the
    /// request's JSON; the default echoes the last message.
    typealias Responder = @Sendable (JSONValue) -> JSONValue

    /// Called with the request's number (from 1) before it is answered; returning `false` drops
    /// the request without an answer (the connection is closed).
    typealias Hook = @Sendable (Int) -> Bool

    private let log = Mutex<[Request]>([])
    private let exports = Mutex<[(path: String, body: Data)]>([])
    private let channel = Mutex<(any Channel)?>(nil)
    private let responder: Responder?
    private let hook = Mutex<Hook?>(nil)
    let port: Int

    /// Sets the hook called before each answer.
    func onRequest(_ hook: Hook?) { self.hook.withLock { $0 = hook } }

    /// The value for `OPENAI_BASE_URL`.
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// The requests received so far, in order.
    var requests: [Request] { log.withLock { $0 } }

    /// OTLP/HTTP exports received so far (the server is also an OpenTelemetry collector):
    /// the path (`/v1/traces`, `/v1/metrics`) and the body.
    var otlpExports: [(path: String, body: Data)] { exports.withLock { $0 } }

    /// The value for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    var otlpEndpoint: String { "http://127.0.0.1:\(port)" }

    /// The environment that makes `rewind` use this server.
    var environment: [String: String] {
        ["OPENAI_BASE_URL": baseURL, "OPENAI_API_KEY": "test-key", "OPENAI_MODEL": "fixture-model"]
    }

    private init(port: Int, responder: Responder?) {
        self.port = port
        self.responder = responder
    }

    /// Starts a server on a free port.
    static func start(responder: Responder? = nil) async throws -> ModelServer {
        let box = Mutex<ModelServer?>(nil)
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    let server = box.withLock { $0 }!
                    try channel.pipeline.syncOperations.addHandler(ModelServerHandler(server: server))
                }
            }
        let channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        let server = ModelServer(port: channel.localAddress!.port!, responder: responder)
        server.channel.withLock { $0 = channel }
        box.withLock { $0 = server }
        return server
    }

    func shutdown() async {
        let channel = self.channel.withLock { $0 }
        try? await channel?.close()
    }

    /// The answer to a request: a chat completion whose message is a function of the request,
    /// or `nil` when the hook dropped it.
    fileprivate func answer(path: String, body: Data) -> Data? {
        if path.hasPrefix("/v1/traces") || path.hasPrefix("/v1/metrics") || path.hasPrefix("/v1/logs") {
            exports.withLock { $0.append((path, body)) }
            return Data("{}".utf8)
        }
        let json = (try? JSONValue(parsing: body)) ?? .null
        let last = json["messages"]?.arrayValue?.last?["content"]?.stringValue ?? ""
        let number = log.withLock { $0.count + 1 }
        let answered = hook.withLock { $0 }?(number) ?? true
        log.withLock {
            $0.append(
                Request(path: path, lastMessage: last, bodyHash: ContentHash.sha256(json), answered: answered))
        }
        guard answered else { return nil }
        let message = responder?(json) ?? ["role": "assistant", "content": .string("Model answer to «\(last)»")]
        let finish = message["tool_calls"] == nil ? "stop" : "tool_calls"
        let response: JSONValue = [
            "id": .string("chatcmpl-fixture-\(number)"), "object": "chat.completion", "created": 1_741_570_283,
            "model": "fixture-model",
            "choices": [["index": 0, "message": message, "finish_reason": .string(finish)]],
            "usage": ["prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70],
        ]
        return Data(response.canonicalString.utf8)
    }
}

private final class ModelServerHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: ModelServer
    var head: HTTPRequestHead?
    var body = Data()

    init(server: ModelServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = Data()
        case .body(let buffer):
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let head else { return }
            guard let data = server.answer(path: head.uri, body: body) else {
                context.close(promise: nil)
                return
            }
            var headers = HTTPHeaders([("content-type", "application/json")])
            headers.add(name: "content-length", value: "\(data.count)")
            let responseHead = HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)
            context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: data)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
