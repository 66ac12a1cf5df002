import Foundation
import Rewind

/// Two runs side by side: their journals aligned by position, the first divergence marked,
/// their tool calls, the state difference there, and their totals.
struct ComparePage {
    var comparison: RunComparison?
    var leftJournal: [JournalEntry] = []
    var rightJournal: [JournalEntry] = []
    var choices: [RunRecord]
    var selected: (a: String?, b: String?)
    var configuration: RewindServer.Configuration

    var base: String { configuration.basePath }

    func render() -> HTML {
        Layout.page(
            title: "Compare", configuration: configuration, bodyAttributes: " data-page=\"compare\"",
            """
            <h1>Compare runs</h1>
            \(picker())
            \(comparison.map(result) ?? "<p class=\"empty\">Choose two runs: a fork and its parent, or any two runs of one workflow.</p>")
            """)
    }

    func picker() -> HTML {
        func options(_ chosen: String?) -> HTML {
            HTML(
                joining: choices.map { run in
                    let label =
                        run.parentRunID.map { "\(run.id.rawValue) (fork of \($0.rawValue) @\(run.forkSeq ?? 0))" }
                        ?? run.id.rawValue
                    return
                        "<option value=\"\(run.id.rawValue)\"\(chosen == run.id.rawValue ? HTML(" selected") : .empty)>\(label) · \(run.workflow) · \(run.status.rawValue)</option>"
                })
        }
        return """
            <form method="get" action="\(base)/compare" class="filters" id="compare-picker">
            <label>A <select name="a" required><option value="">choose…</option>\(options(selected.a))</select></label>
            <label>B <select name="b" required><option value="">choose…</option>\(options(selected.b))</select></label>
            <button type="submit">Compare</button>
            </form>
            """
    }

    func result(_ comparison: RunComparison) -> HTML {
        let (a, b) = (comparison.left.run, comparison.right.run)
        let summary: HTML
        if let divergence = comparison.divergence {
            summary = """
                <p class="divergence-summary" id="divergence-summary">First divergence at <a href="#divergence">seq \(divergence.seq)</a> \
                (<b>\(divergence.kind.rawValue)</b>): \(divergence.summary)</p>
                """
        } else {
            summary =
                "<p class=\"notice\" id=\"divergence-summary\">No divergence: the journals are identical (\(comparison.identicalPrefix) entries).</p>"
        }
        return """
            \(summary)
            \(totals(comparison))
            <h2>Journals, aligned by position</h2>
            \(aligned(comparison))
            <div class="columns even">
            <section><h2>Tool calls</h2>\(tools(comparison))</section>
            <section><h2>State at the divergence</h2>\(stateDifference(comparison))</section>
            </div>
            <p class="muted small"><a href="\(base)/api/compare?\(FormFields.encode([("a", a.id.rawValue), ("b", b.id.rawValue)]))">This comparison as JSON</a></p>
            """
    }

    func runLink(_ run: RunRecord) -> HTML {
        "<a href=\"\(base)/runs/\(Layout.path(run.id.rawValue))\">\(run.id.rawValue)</a>"
    }

    func totals(_ comparison: RunComparison) -> HTML {
        let (a, b) = (comparison.left, comparison.right)
        func row(_ label: String, _ left: String, _ right: String) -> HTML {
            "<tr><th>\(label)</th><td>\(left)</td><td>\(right)</td></tr>"
        }
        return """
            <table class="sides" id="compare-totals">
            <thead><tr><th></th><th>A: \(runLink(a.run))</th><th>B: \(runLink(b.run))</th></tr></thead>
            <tbody>
            <tr><th>status</th><td>\(Layout.badge(a.run.status))</td><td>\(Layout.badge(b.run.status))</td></tr>
            \(row("workflow", a.run.workflow, b.run.workflow))
            \(row("entries", "\(a.entryCount)", "\(b.entryCount)"))
            \(row("model calls", "\(a.modelCalls)", "\(b.modelCalls)"))
            \(row("tokens", Layout.tokens(a.usage.totalTokens), Layout.tokens(b.usage.totalTokens)))
            \(row("cost", Layout.cost(a.usage.costUSD), Layout.cost(b.usage.costUSD)))
            \(row("duration", Layout.duration(a.durationSeconds), Layout.duration(b.durationSeconds)))
            \(row("output", Layout.clip(a.run.output?.canonicalString ?? a.run.error?.message ?? "", 160), Layout.clip(b.run.output?.canonicalString ?? b.run.error?.message ?? "", 160)))
            </tbody></table>
            """
    }

    func aligned(_ comparison: RunComparison) -> HTML {
        let divergence = comparison.divergence?.seq
        let count = max(leftJournal.count, rightJournal.count)
        func cell(_ entry: JournalEntry?, run: RunRecord) -> HTML {
            guard let entry else { return "<td class=\"missing\">—</td>" }
            let link = "\(base)/runs/\(Layout.path(run.id.rawValue))?seq=\(entry.seq)"
            return """
                <td><span class="kind-tag">\(entry.kind.rawValue)</span> <a href="\(link)">\(Layout.clip(entry.name, 40))</a>\
                <div class="summary">\(entry.outcomeSummary(maxLength: 90))</div></td>
                """
        }
        let rows = (0..<count).map { seq -> HTML in
            let left = seq < leftJournal.count ? leftJournal[seq] : nil
            let right = seq < rightJournal.count ? rightJournal[seq] : nil
            var classes = "aligned"
            var id: HTML = .empty
            if let divergence {
                if seq < divergence {
                    classes += " same"
                } else if seq == divergence {
                    classes += " divergence"
                    id = " id=\"divergence\""
                } else {
                    classes += " after"
                }
            } else {
                classes += " same"
            }
            let marker: HTML =
                seq == divergence ? "<span class=\"flag divergence-flag\">first divergence</span>" : .empty
            return """
                <tr class="\(classes)"\(id) data-seq="\(seq)"><td class="seq num">\(seq)\(marker)</td>\(cell(left, run: comparison.left.run))\(cell(right, run: comparison.right.run))</tr>
                """
        }
        return """
            <table class="aligned-journals" id="aligned">
            <thead><tr><th class="num">seq</th><th>A: \(comparison.left.run.id.rawValue)</th><th>B: \(comparison.right.run.id.rawValue)</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
    }

    func tools(_ comparison: RunComparison) -> HTML {
        let (a, b) = (comparison.left.toolCalls, comparison.right.toolCalls)
        guard !a.isEmpty || !b.isEmpty else { return "<p class=\"empty\">No tool calls in either run.</p>" }
        func cell(_ calls: [RunComparison.ToolCall], _ index: Int) -> HTML {
            guard index < calls.count else { return "<td class=\"missing\">—</td>" }
            let call = calls[index]
            return
                "<td><span class=\"muted\">\(call.seq)</span> <b>\(call.name)</b> <code>\(Layout.clip(call.input?.canonicalString ?? "", 60))</code><div class=\"summary\">\(Layout.clip(call.outcomeSummary, 80))</div></td>"
        }
        let rows = (0..<max(a.count, b.count)).map { index -> HTML in
            let same =
                index < a.count && index < b.count && a[index].name == b[index].name && a[index].input == b[index].input
            return
                "<tr class=\"\(same ? "same" : "differs")\"><td class=\"num\">\(index + 1)</td>\(cell(a, index))\(cell(b, index))</tr>"
        }
        return """
            <table class="tools" id="tool-sequences"><thead><tr><th class="num">#</th><th>A</th><th>B</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
    }

    func stateDifference(_ comparison: RunComparison) -> HTML {
        guard let divergence = comparison.divergence else {
            return "<p class=\"empty\">The journals do not diverge.</p>"
        }
        guard !divergence.stateDifference.isEmpty else {
            return "<p id=\"state-difference\">The state is the same in both runs at seq \(divergence.seq).</p>"
        }
        let items = divergence.stateDifference.map { operation -> HTML in
            switch operation {
            case .set(let path, let value):
                return
                    "<li><b>set</b> <code>\(path.description)</code> = <code>\(Layout.clip(value.canonicalString, 300))</code></li>"
            case .remove(let path):
                return "<li><b>remove</b> <code>\(path.description)</code></li>"
            case .append(let path, let values):
                return
                    "<li><b>append</b> <code>\(path.description)</code> + \(values.count): <code>\(Layout.clip(JSONValue.array(values).canonicalString, 300))</code></li>"
            }
        }
        return """
            <p class="muted small">Edits that turn A's state at seq \(divergence.seq) into B's:</p>
            <ul class="state-difference" id="state-difference">\(items)</ul>
            """
    }
}
