import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Rewind
import Synchronization

/// A real HTTP server on 127.0.0.1 that speaks the providers' wire formats from fixture files.
///
/// It records every request (method, path, headers, body), and answers with scripted replies:
/// JSON bodies, server-sent events streamed in several chunks, errors with `retry-after`,
/// a truncated stream, a connection cut mid-stream, or no answer at all (a timeout).
///
/// ```swift
/// let server = try await FixtureServer.start()
/// server.enqueue(.json(200, FixtureServer.fixture("openai/response-text.json")))
/// let model = OpenAIChatModel(configuration: .init(apiKey: "k", baseURL: server.baseURL + "/v1", …))
/// ```
final class FixtureServer: Sendable {
    /// A request as the server received it.
    struct Request: Sendable {
        var method: String
        var path: String
        var headers: [(name: String, value: String)]
        var body: Data

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        var json: JSONValue? { try? JSONValue(parsing: body) }
    }

    /// How to answer one request.
    enum Reply: Sendable {
        /// A complete body with a status and headers.
        case body(status: Int, headers: [(String, String)], data: Data)
        /// Server-sent events in chunks of `chunkSize` bytes, `interval` apart; with
        /// `cutAfter`, only that many bytes are sent and the connection is closed without ending the body.
        case sse(data: Data, chunkSize: Int, interval: TimeAmount, cutAfter: Int?)
        /// Never answers.
        case hang

        static func json(_ status: Int, _ data: Data, headers: [(String, String)] = []) -> Reply {
            .body(status: status, headers: [("content-type", "application/json")] + headers, data: data)
        }

        static func stream(_ data: Data, chunkSize: Int = 97, interval: TimeAmount = .milliseconds(2)) -> Reply {
            .sse(data: data, chunkSize: chunkSize, interval: interval, cutAfter: nil)
        }
    }

    typealias Responder = @Sendable (Request, Int) -> Reply

    private struct State {
        var requests: [Request] = []
        var queue: [Reply] = []
    }

    private let state = Mutex(State())
    private let fallback: Responder?
    private let channel: Mutex<(any Channel)?> = Mutex(nil)
    let port: Int

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The requests received so far, in order.
    var requests: [Request] { state.withLock { $0.requests } }

    private init(port: Int, fallback: Responder?) {
        self.port = port
        self.fallback = fallback
    }

    /// Starts a server on a free port.
    ///
    /// - Parameter responder: answers requests when the queue of replies is empty: `(request, index)`.
    static func start(responder: Responder? = nil) async throws -> FixtureServer {
        let box = Mutex<FixtureServer?>(nil)
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    let server = box.withLock { $0 }!
                    try channel.pipeline.syncOperations.addHandler(Handler(server: server))
                }
            }
        let channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        let server = FixtureServer(port: channel.localAddress!.port!, fallback: responder)
        server.channel.withLock { $0 = channel }
        box.withLock { $0 = server }
        return server
    }

    /// Adds replies, played in order before the responder is asked.
    func enqueue(_ replies: Reply...) {
        state.withLock { $0.queue.append(contentsOf: replies) }
    }

    func shutdown() async {
        let channel = self.channel.withLock { $0 }
        try? await channel?.close()
    }

    fileprivate func reply(to request: Request) -> Reply {
        let (queued, index) = state.withLock { state -> (Reply?, Int) in
            state.requests.append(request)
            return (state.queue.isEmpty ? nil : state.queue.removeFirst(), state.requests.count - 1)
        }
        if let queued { return queued }
        if let fallback { return fallback(request, index) }
        return .json(500, Data(#"{"error":{"message":"the fixture server has no reply for this request"}}"#.utf8))
    }

    /// The bytes of a fixture file, such as `openai/response-text.json`.
    static func fixture(_ path: String) -> Data {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures").appendingPathComponent(path)
        return try! Data(contentsOf: url)
    }

    /// A fixture parsed as JSON.
    static func fixtureJSON(_ path: String) -> JSONValue {
        try! JSONValue(parsing: fixture(path))
    }
}

private final class Handler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: FixtureServer
    var head: HTTPRequestHead?
    var body = Data()

    init(server: FixtureServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = Data()
        case .body(let buffer):
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let head else { return }
            let request = FixtureServer.Request(
                method: head.method.rawValue, path: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                body: body)
            respond(server.reply(to: request), context: context)
        }
    }

    private func respond(_ reply: FixtureServer.Reply, context: ChannelHandlerContext) {
        switch reply {
        case .hang:
            return
        case .body(let status, let headers, let data):
            var responseHeaders = HTTPHeaders(headers)
            responseHeaders.add(name: "content-length", value: "\(data.count)")
            let head = HTTPResponseHead(
                version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: responseHeaders)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: data)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case .sse(let data, let chunkSize, let interval, let cutAfter):
            let headers = HTTPHeaders([("content-type", "text/event-stream"), ("cache-control", "no-cache")])
            let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)
            context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
            let bytes = Array(data.prefix(cutAfter ?? data.count))
            sendChunks(
                bytes, from: 0, size: max(1, chunkSize), interval: interval, cut: cutAfter != nil, context: context)
        }
    }

    private func sendChunks(
        _ bytes: [UInt8], from offset: Int, size: Int, interval: TimeAmount, cut: Bool, context: ChannelHandlerContext
    ) {
        guard offset < bytes.count else {
            if cut {
                context.flush()
                context.close(promise: nil)
            } else {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
            return
        }
        let end = min(offset + size, bytes.count)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: bytes[offset..<end])))), promise: nil)
        context.eventLoop.assumeIsolated().scheduleTask(in: interval) {
            self.sendChunks(bytes, from: end, size: size, interval: interval, cut: cut, context: context)
        }
    }
}
