import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Rewind
import ServiceLifecycle

/// A web time-travel debugger for a store of Rewind runs: pages rendered on the server, a
/// little plain JavaScript, and a JSON API for the same data.
///
/// It works with any ``RunStore`` (SQLite, PostgreSQL, in memory). Reading needs only the
/// store; forking and signalling go through the ``Runtime`` (the same calls `rewind fork`,
/// `rewind approve`, `rewind reject` and `rewind signal` make).
///
/// Serve it on its own:
///
/// ```swift
/// let server = try RewindServer(store: store, runtime: runtime)
/// try await server.run()   // http://127.0.0.1:8080
/// ```
///
/// or mount it in a Hummingbird application of your own:
///
/// ```swift
/// let router = Router()
/// let debugger = try RewindServer(store: store, configuration: .init(basePath: "/debug"))
/// debugger.addRoutes(to: router)
/// ```
public struct RewindServer: Sendable {
    /// The store the debugger shows.
    public let store: any RunStore
    /// The runtime forks and signals go through.
    public let runtime: Runtime
    /// Where it listens and what it allows.
    public let configuration: Configuration

    /// Creates a debugger.
    ///
    /// - Parameters:
    ///   - store: the runs to show.
    ///   - runtime: the runtime that forks and signals (and runs forks started from the
    ///     pages, for the workflows it registers); a runtime on `store` with no workflow by default.
    ///   - configuration: address, token, limits.
    /// - Throws: ``RewindError`` `invalidArgument` when the configuration is refused
    ///   (see ``Configuration/validate()``).
    public init(store: any RunStore, runtime: Runtime? = nil, configuration: Configuration = Configuration()) throws {
        try configuration.validate()
        self.store = store
        self.runtime = runtime ?? Runtime(store: store)
        self.configuration = configuration
    }

    // MARK: - Serving

    /// Adds the debugger's pages and API to a router of your own, under ``Configuration/basePath``,
    /// with its checks (host, token, cross-site requests) on every route it adds.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        let group = router.group(RouterPath(configuration.basePath))
        group.add(middleware: GuardMiddleware<Context>(configuration: configuration))
        register(on: group)
    }

    /// A router with the debugger alone; its checks apply to every request, unknown paths included.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: GuardMiddleware<BasicRequestContext>(configuration: configuration))
        register(on: configuration.basePath.isEmpty ? router.group() : router.group(RouterPath(configuration.basePath)))
        return router
    }

    /// The debugger as a Hummingbird application on ``Configuration/host`` and ``Configuration/port``.
    ///
    /// - Parameters:
    ///   - services: services to run with it (a ``Worker``, for example).
    ///   - onServerRunning: called with the bound port once the server accepts connections.
    public func makeApplication(
        services: [any Service] = [], logger: Logger? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let port = configuration.port
        return Application(
            router: makeRouter(),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: port)),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger ?? Logger(label: "rewind.serve", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// Serves until the task is cancelled or the process gets SIGTERM or SIGINT.
    public func run(
        services: [any Service] = [], logger: Logger? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        try await makeApplication(services: services, logger: logger, onServerRunning: onServerRunning).runService()
    }

    // MARK: - Routes

    func register<Routes: RouterMethods>(on routes: Routes) {
        routes.get("/") { request, _ in await self.answer(request) { try await self.runsPage(request) } }
        routes.get("/runs/:id") { request, context in
            await self.answer(request) { try await self.runPage(request, id: context.parameters.get("id")) }
        }
        routes.post("/runs/:id/fork") { request, context in
            await self.answer(request) { try await self.forkFromForm(request, id: context.parameters.get("id")) }
        }
        routes.post("/runs/:id/signal") { request, context in
            await self.answer(request) { try await self.signalFromForm(request, id: context.parameters.get("id")) }
        }
        routes.get("/compare") { request, _ in await self.answer(request) { try await self.comparePage(request) } }
        routes.get("/api") { request, _ in
            await self.answer(request) { Responses.html(APIPage.render(configuration: self.configuration)) }
        }
        routes.get("/assets/rewind.css") { _, _ in
            Responses.text(Assets.css, contentType: "text/css; charset=utf-8", cache: true)
        }
        routes.get("/assets/rewind.js") { _, _ in
            Responses.text(Assets.javascript, contentType: "text/javascript; charset=utf-8", cache: true)
        }

        routes.get("/api/runs") { request, _ in await self.answer(request) { try await self.apiRuns(request) } }
        routes.get("/api/runs/:id") { request, context in
            await self.answer(request) { try await self.apiRun(request, id: context.parameters.get("id")) }
        }
        routes.get("/api/runs/:id/entries/:seq") { request, context in
            await self.answer(request) {
                try await self.apiEntry(request, id: context.parameters.get("id"), seq: context.parameters.get("seq"))
            }
        }
        routes.get("/api/runs/:id/state") { request, context in
            await self.answer(request) { try await self.apiState(request, id: context.parameters.get("id")) }
        }
        routes.get("/api/runs/:id/export") { request, context in
            await self.answer(request) { try await self.apiExport(id: context.parameters.get("id")) }
        }
        routes.post("/api/runs/:id/fork") { request, context in
            await self.answer(request) { try await self.apiFork(request, id: context.parameters.get("id")) }
        }
        routes.post("/api/runs/:id/signal") { request, context in
            await self.answer(request) { try await self.apiSignal(request, id: context.parameters.get("id")) }
        }
        routes.get("/api/compare") { request, _ in await self.answer(request) { try await self.apiCompare(request) } }
    }

    /// Runs a handler; an error becomes an error page with its status, or `{"error": …}` under `/api/`.
    func answer(_ request: Request, _ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch {
            return Responses.error(WebError.from(error), for: request, configuration: configuration)
        }
    }

    // MARK: - Reading

    func query(_ request: Request) -> FormFields { FormFields(urlEncoded: request.uri.query ?? "") }

    /// The run a path names, or 404.
    func requireRun(_ text: String?) async throws -> RunRecord {
        let id = try Validate.runID(text)
        guard let run = try await store.run(id) else {
            throw WebError(.notFound, "No run with id \"\(id)\" in this store.")
        }
        return run
    }

    /// The runs matching a filter, with their totals, in fork-tree order.
    ///
    /// - Parameter totals: whether to read every run's journal for its tokens and cost (the
    ///   pages' polling only needs statuses and lengths).
    func lineage(_ filter: RunFilter, totals: Bool = true) async throws -> [LineageRow] {
        let limit = min(filter.limit, configuration.runsListLimit)
        var query = RunQuery(statuses: filter.status.map { [$0] } ?? [], workflow: filter.workflow, limit: limit)
        var runs: [RunRecord] = []
        // The text filter is applied here: pages of the store are read until enough runs match.
        while runs.count < limit {
            let page = try await store.listRuns(query)
            runs += page.filter(filter.matchesText)
            guard filter.text != nil, page.count == query.limit, let last = page.last else { break }
            query.before = last.id
        }
        var summaries: [RunSummary] = []
        for run in runs.prefix(limit) {
            guard totals else {
                var brief = RunTotals()
                brief.steps = run.journalLength
                brief.durationSeconds = RunTotals.duration(of: run)
                summaries.append(RunSummary(run: run, totals: brief))
                continue
            }
            let journal = try await store.journal(of: run.id)
            summaries.append(RunSummary(run: run, totals: RunTotals(run: run, journal: journal)))
        }
        return Lineage.rows(summaries)
    }

    func workflowNames() async throws -> [String] {
        let recent = try await store.listRuns(RunQuery(limit: 1000))
        return Set(recent.map(\.workflow)).union(runtime.workflowNames).sorted()
    }

    func entryDetail(_ run: RunRecord, seq: Int) async throws -> EntryDetail {
        let inspection = try await store.inspect(run.id, at: seq)
        let replaced = try ForkChanges(run.forkChanges).replacedOutcomes[seq] != nil
        return EntryDetail(inspection: inspection, replaced: replaced)
    }

    /// The position a request selects, checked against the run's journal.
    func selectedSeq(_ text: String?, in run: RunRecord) throws -> Int? {
        guard let text, !text.isEmpty else { return run.journalLength > 0 ? run.journalLength - 1 : nil }
        let seq = try Validate.seq(text)
        guard seq < run.journalLength else {
            let range = run.journalLength == 0 ? "it has no entries yet" : "its entries are 0…\(run.journalLength - 1)"
            throw WebError(.badRequest, "Run \(run.id) has no entry at seq \(seq): \(range).")
        }
        return seq
    }

    // MARK: - Pages

    func runsPage(_ request: Request) async throws -> Response {
        let filter = try RunFilter(query(request))
        let rows = try await lineage(filter)
        return Responses.html(
            RunsPage.render(
                rows: rows, filter: filter, workflows: try await workflowNames(), configuration: configuration))
    }

    func runPage(
        _ request: Request, id: String?, notice: (text: String, isError: Bool)? = nil,
        forkFields: FormFields = FormFields(),
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        try await runPage(query: query(request), id: id, notice: notice, forkFields: forkFields, status: status)
    }

    func runPage(
        query fields: FormFields, id: String?, notice: (text: String, isError: Bool)? = nil,
        forkFields: FormFields = FormFields(),
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        var run = try await requireRun(id)
        let history = try await store.history(of: run.id)
        run = history.run
        let seq = try selectedSeq(fields["seq"], in: run)
        var detail: EntryDetail?
        if let seq { detail = try await entryDetail(run, seq: seq) }
        var shownNotice = notice
        if shownNotice == nil, let delivered = fields["delivered"], !delivered.isEmpty {
            let next =
                configuration.runsWorker
                ? "This server's worker continues the run." : "A running `rewind worker` continues the run."
            shownNotice = ("Delivered signal \"\(Layout.clip(delivered, 100))\". \(next)", false)
        }
        if shownNotice == nil, let duplicate = fields["duplicate"], !duplicate.isEmpty {
            shownNotice = (
                "This \"\(Layout.clip(duplicate, 100))\" was delivered before (the form was sent twice); nothing changed.",
                false
            )
        }
        if shownNotice == nil, fields["forked"] == "1", let parent = run.parentRunID {
            shownNotice = ("Forked from \(parent) at seq \(run.forkSeq ?? 0).", false)
        }
        let page = RunPage(
            history: history, totals: RunTotals(run: run, journal: history.items.map(\.entry)), detail: detail,
            configuration: configuration, canExecute: runtime.workflow(registeredAs: run.workflow) != nil,
            notice: shownNotice, forkFields: forkFields)
        return Responses.html(page.render(), status: status)
    }

    func comparePage(_ request: Request) async throws -> Response {
        let fields = query(request)
        let choices = try await store.listRuns(RunQuery(limit: configuration.runsListLimit))
        var page = ComparePage(
            choices: choices, selected: (fields["a"], fields["b"]), configuration: configuration)
        if let a = fields["a"], let b = fields["b"], !a.isEmpty, !b.isEmpty {
            let (left, right) = (try await requireRun(a), try await requireRun(b))
            page.comparison = try await store.compare(left.id, right.id)
            page.leftJournal = try await store.journal(of: left.id)
            page.rightJournal = try await store.journal(of: right.id)
        } else if let a = fields["a"], !a.isEmpty {
            _ = try await requireRun(a)
        }
        return Responses.html(page.render())
    }

    // MARK: - Actions from the pages

    /// Reads a form body, refusing one without the server's form token.
    func form(_ request: Request) async throws -> FormFields {
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            throw WebError(.unsupportedMediaType, "Forms must be sent as application/x-www-form-urlencoded.")
        }
        let fields = FormFields(urlEncoded: try await body(request))
        guard let token = fields["csrf"], Secrets.same(token, configuration.csrfToken) else {
            throw WebError(
                .forbidden,
                "The form token is missing or stale (a request from another site, or a page from before the server restarted). Reload the page and submit again."
            )
        }
        return fields
    }

    func body(_ request: Request) async throws -> String {
        do {
            let buffer = try await request.body.collect(upTo: configuration.maxRequestBodyBytes)
            return String(buffer: buffer)
        } catch {
            throw WebError(
                .contentTooLarge, "The request body is larger than \(configuration.maxRequestBodyBytes) bytes.")
        }
    }

    func forkFromForm(_ request: Request, id: String?) async throws -> Response {
        let run = try await requireRun(id)
        let fields = try await form(request)
        do {
            let child = try await fork(
                run, at: fields["at"], patch: fields["patch"], replace: fields["replace"], childID: fields["id"],
                start: fields["start"] != nil)
            return Responses.redirect(to: "\(configuration.basePath)/runs/\(Layout.path(child.id.rawValue))?forked=1")
        } catch {
            let failure = WebError.from(error)
            guard failure.status == .badRequest || failure.status == .conflict else { throw error }
            return try await runPage(
                query: FormFields(), id: id, notice: ("Not forked: \(failure.message)", true), forkFields: fields,
                status: failure.status)
        }
    }

    func signalFromForm(_ request: Request, id: String?) async throws -> Response {
        let run = try await requireRun(id)
        let fields = try await form(request)
        do {
            let (name, delivered) = try await signal(
                run, action: fields["action"], name: fields["name"], payload: fields["payload"].map { .string($0) },
                comment: fields["comment"], reason: fields["reason"], signalID: fields["signal-id"],
                payloadIsText: true)
            let outcome = FormFields.encode([(delivered ? "delivered" : "duplicate", name)])
            return Responses.redirect(to: "\(configuration.basePath)/runs/\(Layout.path(run.id.rawValue))?\(outcome)")
        } catch {
            let failure = WebError.from(error)
            guard failure.status == .badRequest || failure.status == .conflict else { throw error }
            return try await runPage(
                query: FormFields(), id: id, notice: ("Not delivered: \(failure.message)", true), status: failure.status
            )
        }
    }

    // MARK: - Actions

    /// Forks a run through ``Runtime/fork(_:at:setting:replacing:id:start:)``: nothing is written when it throws.
    func fork(
        _ run: RunRecord, at: String?, patch: String?, replace: String?, childID: String?, start: Bool
    ) async throws -> RunRecord {
        let seq = try Validate.seq(at, field: "The fork position (at)")
        let patchText = patch?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let operations =
            try patchText.isEmpty
            ? []
            : Validate.stateOperations(Validate.json(patchText, field: "The state edits"), field: "the state edits")
        let replaceText = replace?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let outcomes =
            try replaceText.isEmpty
            ? [:]
            : Validate.replacedOutcomes(
                Validate.json(replaceText, field: "The replaced outcomes"), field: "the replaced outcomes")
        return try await fork(run, at: seq, operations: operations, outcomes: outcomes, childID: childID, start: start)
    }

    func fork(
        _ run: RunRecord, at seq: Int, operations: [StateOperation], outcomes: [Int: JSONValue], childID: String?,
        start: Bool
    ) async throws -> RunRecord {
        let child = try childID.flatMap { $0.isEmpty ? nil : $0 }.map { try Validate.runID($0, field: "fork id") }
        if start, runtime.workflow(registeredAs: run.workflow) == nil {
            throw WebError(
                .conflict,
                "This server does not register the workflow \"\(run.workflow)\", so it cannot run the fork now. Fork without starting it; a worker that registers the workflow runs it."
            )
        }
        return try await runtime.fork(
            run.id, at: seq, setting: operations, replacing: outcomes, id: child, start: start)
    }

    /// Delivers a signal through the runtime: `approve`, `reject` or `signal` (named, with a JSON payload).
    ///
    /// - Parameter signalID: the signal's id, so that a form submitted twice delivers once (a new id by default).
    /// - Returns: the signal's name, and `false` when a signal with this id was delivered before.
    func signal(
        _ run: RunRecord, action: String?, name: String?, payload: JSONValue?, comment: String?, reason: String?,
        signalID: String?, payloadIsText: Bool
    ) async throws -> (name: String, delivered: Bool) {
        func limited(_ text: String?, _ field: String) throws -> String? {
            guard let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
            guard text.count <= 2000 else {
                throw WebError(.badRequest, "The \(field) is longer than 2000 characters.")
            }
            return text
        }
        let id = try limited(signalID, "signal id")
        if let id, id.count > 128 || !id.unicodeScalars.allSatisfy(RewindServer.Configuration.isTokenCharacter) {
            throw WebError(.badRequest, "The signal id must be 1 to 128 letters, digits, '-', '_', '.' or '~'.")
        }
        let approvalName = run.waitingFor?.kind == .approval ? run.waitingFor?.signalName ?? "approval" : "approval"
        switch action ?? "signal" {
        case "approve":
            let delivered = try await runtime.approve(run.id, comment: try limited(comment, "comment"), signalID: id)
            return (approvalName, delivered)
        case "reject":
            guard let reason = try limited(reason, "reason") else {
                throw WebError(.badRequest, "A rejection needs a reason: the run receives it.")
            }
            return (approvalName, try await runtime.reject(run.id, reason: reason, signalID: id))
        case "signal":
            guard let name = try limited(name, "signal name") else {
                throw WebError(.badRequest, "The signal needs a name (the one the run waits for).")
            }
            var value = payload ?? .object([:])
            if payloadIsText, let text = payload?.stringValue {
                let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
                value = trimmed.isEmpty ? .object([:]) : try Validate.json(trimmed, field: "The payload")
            }
            return (name, try await runtime.signal(run.id, name: name, payload: value, signalID: id))
        default:
            throw WebError(
                .badRequest, "Unknown action \"\(Layout.clip(action ?? "", 40))\": use approve, reject or signal.")
        }
    }

    // MARK: - JSON API

    func apiRuns(_ request: Request) async throws -> Response {
        let fields = query(request)
        let filter = try RunFilter(fields)
        let rows = try await lineage(filter, totals: fields["totals"] != "false")
        var totals = RunTotals()
        for row in rows { totals.add(row.summary.totals) }
        return Responses.json([
            "runs": .array(rows.map { APIEncoding.summary($0.summary, depth: $0.depth) }),
            "totals": APIEncoding.totals(totals), "count": .int(rows.count),
        ])
    }

    func apiRun(_ request: Request, id: String?) async throws -> Response {
        let run = try await requireRun(id)
        let history = try await store.history(of: run.id)
        var members = APIEncoding.run(history.run).objectValue ?? [:]
        members["totals"] = APIEncoding.totals(RunTotals(run: history.run, journal: history.items.map(\.entry)))
        if query(request)["timeline"] != "false" {
            members["timeline"] = .array(history.items.map(APIEncoding.timelineItem))
        }
        return Responses.json(.object(members))
    }

    func apiEntry(_ request: Request, id: String?, seq: String?) async throws -> Response {
        let run = try await requireRun(id)
        guard let position = try selectedSeq(seq ?? "", in: run) else {
            throw WebError(.badRequest, "seq is missing.")
        }
        let detail = try await entryDetail(run, seq: position)
        let fields = query(request)
        let full = "\(configuration.basePath)/api/runs/\(Layout.path(run.id.rawValue))/entries/\(position)"
        var members =
            APIEncoding.entry(
                detail, full: fields["view"] != "panel", limit: configuration.inlinePayloadLimit, fullURL: full
            ).objectValue ?? [:]
        if fields["view"] == "panel" {
            let apiPath = "\(configuration.basePath)/api/runs/\(Layout.path(run.id.rawValue))"
            members["html"] = .string(
                RunPage.panel(detail, apiPath: apiPath, limit: configuration.inlinePayloadLimit).markup)
        }
        return Responses.json(.object(members))
    }

    func apiState(_ request: Request, id: String?) async throws -> Response {
        let run = try await requireRun(id)
        guard let seq = try selectedSeq(query(request)["seq"], in: run) else {
            throw WebError(.badRequest, "Run \(run.id) has no entries yet, so it has no state.")
        }
        return Responses.json([
            "runID": .string(run.id.rawValue), "seq": .int(seq), "state": try await store.state(of: run.id, at: seq),
        ])
    }

    func apiExport(id: String?) async throws -> Response {
        let run = try await requireRun(id)
        let trace = try await Trace.export(run.id, from: store, redactor: try Redactor())
        let name = run.id.rawValue.replacingOccurrences(of: ":", with: "_")
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/json; charset=utf-8",
                .contentDisposition: "attachment; filename=\"\(name).trace.json\"",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: trace.data)))
    }

    /// Reads a JSON body; an API POST must declare it (a cross-site form cannot).
    func jsonBody(_ request: Request) async throws -> JSONValue {
        guard (request.headers[.contentType] ?? "").hasPrefix("application/json") else {
            throw WebError(.unsupportedMediaType, "Send the body as JSON with Content-Type: application/json.")
        }
        let text = try await body(request)
        let json = try Validate.json(text.isEmpty ? "{}" : text, field: "The body")
        guard case .object = json else { throw WebError(.badRequest, "The body must be a JSON object.") }
        return json
    }

    func apiFork(_ request: Request, id: String?) async throws -> Response {
        let run = try await requireRun(id)
        let body = try await jsonBody(request)
        guard let seq = body["at"]?.intValue else {
            throw WebError(
                .badRequest, "\"at\" (the first position the fork runs live) is missing or not a whole number.")
        }
        let child = try await fork(
            run, at: seq, operations: try Validate.stateOperations(body["state"] ?? .null, field: "state"),
            outcomes: try Validate.replacedOutcomes(body["replace"] ?? .null), childID: body["id"]?.stringValue,
            start: body["start"]?.boolValue ?? false)
        return Responses.json(["run": APIEncoding.run(child)], status: .created)
    }

    func apiSignal(_ request: Request, id: String?) async throws -> Response {
        let run = try await requireRun(id)
        let body = try await jsonBody(request)
        let (name, delivered) = try await signal(
            run, action: body["action"]?.stringValue, name: body["name"]?.stringValue, payload: body["payload"],
            comment: body["comment"]?.stringValue, reason: body["reason"]?.stringValue,
            signalID: body["id"]?.stringValue, payloadIsText: false)
        let record = try await store.requireRun(run.id)
        return Responses.json(
            ["delivered": .string(name), "duplicate": .bool(!delivered), "run": APIEncoding.run(record)],
            status: .accepted)
    }

    func apiCompare(_ request: Request) async throws -> Response {
        let fields = query(request)
        let (left, right) = (
            try await requireRun(Validate.runID(fields["a"], field: "first run (a)").rawValue),
            try await requireRun(Validate.runID(fields["b"], field: "second run (b)").rawValue)
        )
        return Responses.json(APIEncoding.comparison(try await store.compare(left.id, right.id)))
    }
}
