import Foundation
import Rewind

/// The runs list: filters, the fork tree, totals, and a way to pick two runs to compare.
enum RunsPage {
    static func render(
        rows: [LineageRow], filter: RunFilter, workflows: [String], configuration: RewindServer.Configuration
    ) -> HTML {
        let base = configuration.basePath
        var totals = RunTotals()
        for row in rows { totals.add(row.summary.totals) }
        let live = rows.contains { $0.summary.run.status == .running || $0.summary.run.status == .pending }
        let statusOptions = HTML(
            joining: RunStatus.allCases.map { status in
                "<option value=\"\(status.rawValue)\"\(filter.status == status ? HTML(" selected") : .empty)>\(status.rawValue)</option>"
            })
        let workflowOptions = HTML(
            joining: workflows.map { name in
                "<option value=\"\(name)\"\(filter.workflow == name ? HTML(" selected") : .empty)>\(name)</option>"
            })
        let body = HTML(joining: rows.map { row($0, base: base) })
        let table: HTML =
            rows.isEmpty
            ? "<p class=\"empty\" id=\"no-runs\">No run matches. Start one with <code>rewind demo</code>.</p>"
            : """
            <form method="get" action="\(base)/compare" id="compare-form">
            <table class="runs" id="runs">
            <thead><tr><th class="pick" title="first run to compare">A</th><th class="pick" title="second run to compare">B</th>\
            <th>Run</th><th>Workflow</th><th>Status</th><th class="num">Steps</th><th class="num">Tokens</th>\
            <th class="num">Cost</th><th class="num">Duration</th><th>Created (UTC)</th><th>Waiting for</th></tr></thead>
            <tbody>\(body)</tbody>
            <tfoot><tr id="totals"><td colspan="5">\(rows.count) runs</td><td class="num">\(totals.steps)</td>\
            <td class="num">\(Layout.tokens(totals.usage.totalTokens))</td><td class="num">\(Layout.cost(totals.usage.costUSD))</td>\
            <td class="num">\(Layout.duration(totals.durationSeconds))</td><td colspan="2"></td></tr></tfoot>
            </table>
            <p class="actions"><button type="submit">Compare A with B</button></p>
            </form>
            """
        let refresh: HTML =
            live
            ? " data-refresh=\"\(configuration.refreshInterval)\" data-watch=\"\(base)/api/runs?\(query(filter, totals: false))\""
            : .empty
        return Layout.page(
            title: "Runs", configuration: configuration, bodyAttributes: " data-page=\"runs\"" + refresh,
            """
            <h1>Runs</h1>
            <form method="get" action="\(base)/" class="filters" id="filters">
            <label>Status <select name="status"><option value="">any</option>\(statusOptions)</select></label>
            <label>Workflow <select name="workflow"><option value="">any</option>\(workflowOptions)</select></label>
            <label>Text <input type="search" name="q" value="\(filter.text ?? "")" placeholder="id, input, error…" maxlength="200"></label>
            <button type="submit">Filter</button>\(live ? HTML(" <span class=\"live\" id=\"live\">● live</span>") : .empty)
            </form>
            \(table)
            """)
    }

    static func query(_ filter: RunFilter, totals: Bool = true) -> String {
        var fields: [(String, String)] = totals ? [] : [("totals", "false")]
        if let status = filter.status { fields.append(("status", status.rawValue)) }
        if let workflow = filter.workflow { fields.append(("workflow", workflow)) }
        if let text = filter.text { fields.append(("q", text)) }
        return FormFields.encode(fields)
    }

    static func row(_ row: LineageRow, base: String) -> HTML {
        let run = row.summary.run
        let totals = row.summary.totals
        let link = "\(base)/runs/\(Layout.path(run.id.rawValue))"
        let indent = HTML(joining: Array(repeating: HTML("<span class=\"indent\"></span>"), count: row.depth))
        let fork: HTML =
            run.parentRunID != nil
            ? "<span class=\"fork\" title=\"forked from \(run.parentRunID?.rawValue ?? "") at seq \(run.forkSeq ?? 0)\">└ @\(run.forkSeq ?? 0)</span> "
            : .empty
        let waiting = run.status == .suspended ? run.waitingFor.map(describeWait) ?? "" : ""
        return """
            <tr class="run depth-\(row.depth)" data-run="\(run.id.rawValue)" data-parent="\(run.parentRunID?.rawValue ?? "")">\
            <td class="pick"><input type="radio" name="a" value="\(run.id.rawValue)" aria-label="compare \(run.id.rawValue) as A"></td>\
            <td class="pick"><input type="radio" name="b" value="\(run.id.rawValue)" aria-label="compare \(run.id.rawValue) as B"></td>\
            <td class="id">\(indent)\(fork)<a href="\(link)">\(run.id.rawValue)</a></td><td>\(run.workflow)</td>\
            <td>\(Layout.badge(run.status))</td><td class="num">\(totals.steps)</td>\
            <td class="num">\(Layout.tokens(totals.usage.totalTokens))</td><td class="num">\(Layout.cost(totals.usage.costUSD))</td>\
            <td class="num">\(Layout.duration(totals.durationSeconds))</td><td class="date">\(Layout.date(run.createdAt))</td>\
            <td class="wait">\(waiting)</td></tr>
            """
    }

    static func describeWait(_ wait: WaitCondition) -> String {
        switch wait.kind {
        case .approval: return "approval"
        case .human: return "an answer (\(wait.signalName))"
        case .signal: return "signal \(wait.signalName)"
        case .timer: return "timer until \(Layout.date(wait.deadline))"
        }
    }
}
