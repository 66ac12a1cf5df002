import Foundation
import Rewind

/// A run: its timeline of entries, the entry selected with the state there, what it waits
/// for, and the forms that fork it, signal it and export it.
struct RunPage {
    var history: RunHistory
    var totals: RunTotals
    var detail: EntryDetail?
    var configuration: RewindServer.Configuration
    /// Whether the runtime can execute the run's workflow (a fork can start at once).
    var canExecute: Bool
    /// A message after an action, and whether it is an error.
    var notice: (text: String, isError: Bool)?
    /// The fork form's fields as submitted, to show them again after an error.
    var forkFields = FormFields()

    var run: RunRecord { history.run }
    var base: String { configuration.basePath }
    var runPath: String { "\(base)/runs/\(Layout.path(run.id.rawValue))" }
    var apiPath: String { "\(base)/api/runs/\(Layout.path(run.id.rawValue))" }

    func render() -> HTML {
        let live = run.status == .running || run.status == .pending
        var attributes: HTML = " data-page=\"run\" data-run=\"\(run.id.rawValue)\" data-api=\"\(apiPath)\""
        attributes += " data-status=\"\(run.status.rawValue)\" data-entries=\"\(history.items.count)\""
        if let seq = detail?.entry.seq { attributes += " data-seq=\"\(seq)\"" }
        // A suspended run is watched too: a signal from elsewhere makes a worker continue it.
        if !run.status.isTerminal { attributes += " data-refresh=\"\(configuration.refreshInterval)\"" }
        return Layout.page(
            title: "Run \(run.id.rawValue)", configuration: configuration, bodyAttributes: attributes,
            """
            \(header())
            \(noticeBanner())
            \(waiting())
            <div class="columns">
            <section class="timeline-column">
            <h2>Timeline <span class="muted">\(history.items.count) entr\(history.items.count == 1 ? "y" : "ies")</span>\(live ? HTML(" <span class=\"live\" id=\"live\">● live</span>") : .empty)</h2>
            \(timeline())
            </section>
            <section class="detail-column">
            <div id="entry-panel">\(panel())</div>
            \(forkForm())
            </section>
            </div>
            """)
    }

    func header() -> HTML {
        var lineage: HTML = .empty
        if let parent = run.parentRunID {
            let parentLink = "\(base)/runs/\(Layout.path(parent.rawValue))"
            let compare =
                "\(base)/compare?\(FormFields.encode([("a", parent.rawValue), ("b", run.id.rawValue)]))"
            lineage = """
                <p class="lineage">Forked from <a href="\(parentLink)" id="parent-link">\(parent.rawValue)</a> at seq \(run.forkSeq ?? 0) \
                (entries 0…\(max(0, (run.forkSeq ?? 0) - 1)) are the parent's) · <a href="\(compare)" id="compare-parent">compare with the parent</a></p>
                """
            if let changes = run.forkChanges {
                lineage +=
                    "<p class=\"changes\">Fork changes: <code>\(Layout.clip(changes.canonicalString, 300))</code></p>"
            }
        }
        var result: HTML = .empty
        if let output = run.output {
            result = "<p class=\"output\">Output: <code>\(Layout.clip(output.canonicalString, 400))</code></p>"
        }
        if let error = run.error {
            result = "<p class=\"error\" id=\"run-error\">Failed: \(error.message)</p>"
        }
        let exportLink = "\(apiPath)/export"
        return """
            <div class="run-head">
            <h1><span class="muted">Run</span> <span id="run-id">\(run.id.rawValue)</span> <span id="run-status">\(Layout.badge(run.status))</span></h1>
            <p class="meta">\(run.workflow) v\(run.workflowVersion) · queue \(run.queue) · created \(Layout.date(run.createdAt)) UTC\
            \(run.finishedAt.map { HTML(" · finished \(Layout.date($0)) UTC") } ?? .empty)</p>
            \(lineage)
            <ul class="totals" id="run-totals">
            <li><b>\(totals.steps)</b> steps</li><li><b>\(totals.modelCalls)</b> model calls</li>\
            <li><b>\(totals.toolCalls)</b> tool calls</li><li><b>\(Layout.tokens(totals.usage.totalTokens))</b> tokens</li>\
            <li><b>\(Layout.cost(totals.usage.costUSD))</b> cost</li><li><b>\(Layout.duration(totals.durationSeconds))</b> duration</li>
            </ul>
            <p class="actions"><a class="button" href="\(exportLink)" id="export-link" download>Export trace</a>
            <a class="button" href="\(base)/compare?\(FormFields.encode([("a", run.id.rawValue)]))">Compare with…</a>
            <a class="button" href="\(apiPath)">JSON</a></p>
            \(result)
            </div>
            """
    }

    func noticeBanner() -> HTML {
        guard let notice else { return .empty }
        return "<p class=\"\(notice.isError ? "error" : "notice")\" id=\"notice\" role=\"status\">\(notice.text)</p>"
    }

    func timeline() -> HTML {
        guard !history.items.isEmpty else { return "<p class=\"empty\">No entries yet.</p>" }
        let longest = history.items.map(\.entry.duration).max() ?? 0
        let rows = history.items.map { item -> HTML in
            let entry = item.entry
            var classes = "entry kind-\(entry.kind.rawValue)"
            if entry.seq == detail?.entry.seq { classes += " selected" }
            if item.shared { classes += " shared" }
            if case .error = entry.outcome { classes += " failed" }
            var flags: [HTML] = []
            if item.shared {
                flags.append("<span class=\"flag replayed\" title=\"served from the parent's journal\">replayed</span>")
            }
            if item.replaced { flags.append("<span class=\"flag replaced\">replaced</span>") }
            if case .error = entry.outcome { flags.append("<span class=\"flag error\">error</span>") }
            if case .started = entry.outcome { flags.append("<span class=\"flag doubt\">in doubt</span>") }
            if entry.attempts > 1 { flags.append("<span class=\"flag\">\(entry.attempts) attempts</span>") }
            let tokens = entry.usage.map { Layout.tokens($0.totalTokens) } ?? ""
            let cost = entry.usage?.costUSD.map { Layout.cost($0) } ?? ""
            return """
                <tr class="\(classes)" data-seq="\(entry.seq)" id="entry-\(entry.seq)"><td class="seq num">\(entry.seq)</td>\
                <td class="kind"><span class="kind-tag">\(entry.kind.rawValue)</span></td>\
                <td class="name"><a href="\(runPath)?seq=\(entry.seq)" data-seq="\(entry.seq)">\(Layout.clip(entry.name, 48))</a>\
                <div class="summary">\(item.outcomeSummary)</div></td>\
                <td class="duration">\(Layout.bar(entry.duration, of: longest))<span>\(Layout.duration(entry.duration))</span></td>\
                <td class="num">\(tokens)</td><td class="num">\(cost)</td><td class="flags">\(flags)</td></tr>
                """
        }
        return """
            <table class="timeline" id="timeline">
            <thead><tr><th class="num">seq</th><th>kind</th><th>name · outcome</th><th>duration</th>\
            <th class="num">tokens</th><th class="num">cost</th><th></th></tr></thead>
            <tbody>\(rows)</tbody>
            </table>
            """
    }

    func panel() -> HTML {
        guard let detail else {
            return "<p class=\"empty\">Select an entry to see what it asked, what it got, and the state there.</p>"
        }
        return Self.panel(detail, apiPath: apiPath, limit: configuration.inlinePayloadLimit)
    }

    static func panel(_ detail: EntryDetail, apiPath: String, limit: Int) -> HTML {
        let entry = detail.entry
        let full = "\(apiPath)/entries/\(entry.seq)"
        var meta: [HTML] = [
            "<li>\(entry.kind.rawValue)</li>", "<li>\(Layout.duration(entry.duration))</li>",
            "<li>\(entry.attempts) attempt\(entry.attempts == 1 ? "" : "s")</li>",
        ]
        if let usage = entry.usage {
            meta.append("<li>\(usage.inputTokens) in + \(usage.outputTokens) out tokens</li>")
            if let cost = usage.costUSD { meta.append("<li>\(Layout.cost(cost))</li>") }
            if let model = usage.model { meta.append("<li>\(model)</li>") }
        }
        meta.append(
            "<li>spent so far: \(Layout.tokens(detail.inspection.usageSoFar.totalTokens)) tokens, \(Layout.cost(detail.inspection.usageSoFar.costUSD))</li>"
        )
        if detail.inspection.shared { meta.append("<li class=\"flag replayed\">replayed from the parent</li>") }
        if detail.replaced { meta.append("<li class=\"flag replaced\">outcome replaced by the fork</li>") }
        let sections = detail.sections(limit: limit).map { section -> HTML in
            let id =
                section.title.hasPrefix("State")
                ? "state" : "section-\(section.title.lowercased().split(separator: " ").first ?? "")"
            let cut: HTML =
                section.truncated
                ? "<p class=\"truncated\">Cut at \(limit.formatted()) of \(section.bytes.formatted()) bytes. <a href=\"\(full)\" class=\"full-link\">The whole entry as JSON</a></p>"
                : .empty
            return """
                <section class="payload" id="\(id)"><h3>\(section.title)</h3><pre>\(section.text)</pre>\(cut)</section>
                """
        }
        return """
            <h2 id="entry-title">seq \(entry.seq) · \(entry.kind.rawValue) <span class="name">\(entry.name)</span></h2>
            <ul class="entry-meta">\(meta)</ul>
            <p class="muted small">Started \(Layout.date(entry.startedAt)) UTC · <a href="\(full)">JSON</a></p>
            \(sections)
            """
    }

    func waiting() -> HTML {
        guard !run.status.isTerminal else { return .empty }
        // One id per page shown: a form sent twice (a double click, a reload) delivers once.
        let csrf =
            Layout.csrfField(configuration)
            + "<input type=\"hidden\" name=\"signal-id\" value=\"\(UUID().uuidString)\">"
        let action = "\(runPath)/signal"
        let worker =
            configuration.runsWorker
            ? "This server's worker continues the run once it is delivered."
            : "A running <code>rewind worker</code> continues the run once it is delivered."
        guard run.status == .suspended, let wait = run.waitingFor else {
            return """
                <details class="signal-any"><summary>Send a signal</summary>
                <form method="post" action="\(action)" id="signal-form">\(csrf)<input type="hidden" name="action" value="signal">
                <label>Name <input name="name" required maxlength="200"></label>
                <label>Payload (JSON) <textarea name="payload" rows="3">{}</textarea></label>
                <button type="submit">Send</button></form></details>
                """
        }
        let prompt =
            wait.prompt.map {
                HTML("<pre class=\"prompt\">\(String(decoding: $0.prettyData(), as: UTF8.self))</pre>")
            } ?? .empty
        let forms: HTML
        switch wait.kind {
        case .approval:
            forms = """
                <div class="decision">
                <form method="post" action="\(action)" id="approve-form">\(csrf)<input type="hidden" name="action" value="approve">
                <label>Comment <input name="comment" maxlength="2000" placeholder="optional"></label>
                <button type="submit" class="approve" id="approve-button">Approve</button></form>
                <form method="post" action="\(action)" id="reject-form">\(csrf)<input type="hidden" name="action" value="reject">
                <label>Reason <input name="reason" required maxlength="2000"></label>
                <button type="submit" class="reject">Reject</button></form>
                </div>
                """
        case .human, .signal:
            let example = wait.prompt?["options"]?.arrayValue?.first.map(\.canonicalString) ?? "{}"
            forms = """
                <form method="post" action="\(action)" id="answer-form">\(csrf)<input type="hidden" name="action" value="signal">
                <input type="hidden" name="name" value="\(wait.signalName)">
                <label>Answer (JSON) <textarea name="payload" rows="3">\(example)</textarea></label>
                <button type="submit" id="answer-button">Send \(wait.signalName)</button></form>
                """
        case .timer:
            forms = "<p>A worker continues it at \(Layout.date(wait.deadline)) UTC.</p>"
        }
        return """
            <section class="waiting" id="waiting">
            <h2>Waiting for \(RunsPage.describeWait(wait))</h2>
            \(prompt)
            \(forms)
            <p class="muted small">\(HTML(unsafeMarkup: worker))</p>
            </section>
            """
    }

    func forkForm() -> HTML {
        let suggested = detail.map { $0.entry.seq + 1 } ?? history.items.count
        let at = forkFields["at"] ?? "\(min(suggested, history.items.count))"
        let patch = forkFields["patch"] ?? "[]"
        let replace = forkFields["replace"] ?? ""
        let startChecked = forkFields["at"] == nil ? canExecute : forkFields["start"] != nil
        let start: HTML =
            canExecute
            ? "<label class=\"inline\"><input type=\"checkbox\" name=\"start\" value=\"1\"\(startChecked ? HTML(" checked") : .empty)> run it now in this server</label>"
            : "<p class=\"muted small\">This server does not register the workflow \(run.workflow): the fork is recorded as pending for a worker that does.</p>"
        return """
            <details class="fork" id="fork"\(forkFields["at"] != nil ? HTML(" open") : .empty)><summary>Fork from here</summary>
            <form method="post" action="\(runPath)/fork" id="fork-form">\(Layout.csrfField(configuration))
            <label>Fork at seq <input type="number" name="at" min="0" max="\(history.items.count)" value="\(at)" required></label>
            <p class="muted small">The fork shares entries before this position, applies the edits to the state after them, and runs live from there.</p>
            <label>State edits (JSON) <textarea name="patch" rows="4" spellcheck="false" placeholder='[{"op": "set", "path": "/iteration", "value": 0}]'>\(patch)</textarea></label>
            <label>Replaced outcomes (JSON, optional) <textarea name="replace" rows="2" spellcheck="false" placeholder='{"3": {"content": "…"}}'>\(replace)</textarea></label>
            <label>Fork id (optional) <input name="id" maxlength="128" value="\(forkFields["id"] ?? "")"></label>
            \(start)
            <button type="submit" id="fork-button">Fork</button>
            </form></details>
            """
    }
}
