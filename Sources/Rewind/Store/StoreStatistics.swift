import Foundation

/// The health of durable execution over a store, or over the runs a query selects: what
/// `rewind stats` prints.
public struct StoreStatistics: Sendable, Hashable, Codable {
    /// Tokens and cost.
    public struct Spend: Sendable, Hashable, Codable {
        public var inputTokens = 0
        public var outputTokens = 0
        public var costUSD = 0.0
        public var modelCalls = 0

        mutating func add(_ usage: Usage, calls: Int = 1) {
            inputTokens += usage.inputTokens
            outputTokens += usage.outputTokens
            costUSD += usage.costUSD ?? 0
            modelCalls += calls
        }
    }

    /// The runs counted.
    public var runs = 0
    /// Runs by status.
    public var runsByStatus: [String: Int] = [:]
    /// Journal entries the runs recorded themselves (a fork's shared prefix counts once, for its parent).
    public var entries = 0
    /// Entries whose outcome was committed (a value or an error).
    public var committedEntries = 0
    /// Entries left *started*: side effects whose end was never recorded (in doubt).
    public var inDoubtEntries = 0
    /// `committedEntries / entries`: how many checkpoints were completed.
    public var checkpointSuccessRate: Double?
    /// Executions recorded (first runs, resumes, forks, recoveries).
    public var executions = 0
    /// Executions that served a recorded prefix (resumes and forks).
    public var replays = 0
    /// Replays that found code that no longer matched the journal.
    public var replayDivergences = 0
    /// `(replays - replayDivergences) / replays`.
    public var replaySuccessRate: Double?
    /// Median time to serve the recorded prefix of a replay, in milliseconds.
    public var replayLatencyMedianMs: Double?
    /// 95th percentile of the same.
    public var replayLatencyP95Ms: Double?
    /// Forks (runs with a parent) that recorded entries of their own.
    public var forks = 0
    /// Forks whose first own entry differs from the parent's at the same position (operation,
    /// input or outcome), or where the parent had ended.
    public var divergedForks = 0
    /// `divergedForks / forks`.
    public var forkDivergenceRate: Double?
    /// Bytes each run's own recorded data takes (payloads and state changes), by run id.
    public var recordedBytesByRun: [String: Int] = [:]
    /// The sum of `recordedBytesByRun`.
    public var recordedBytes = 0
    /// Model calls made live: tokens and cost spent.
    public var spent = Spend()
    /// Model calls served from journals instead of being made again: tokens and cost saved.
    public var savedByReplay = Spend()

    /// Creates empty statistics.
    public init() {}

    /// Computes the statistics of the runs `query` selects (its limit is ignored: every matching
    /// run is read, page by page).
    public static func compute(store: any RunStore, query: RunQuery = RunQuery()) async throws -> StoreStatistics {
        var statistics = StoreStatistics()
        var page = query
        page.limit = 500
        var replayLatencies: [Double] = []
        while true {
            let runs = try await store.listRuns(page)
            for run in runs {
                try await statistics.add(run, store: store, replayLatencies: &replayLatencies)
            }
            guard runs.count == page.limit, let last = runs.last else { break }
            page.before = last.id
        }
        statistics.finish(replayLatencies: replayLatencies)
        return statistics
    }

    private mutating func add(_ run: RunRecord, store: any RunStore, replayLatencies: inout [Double]) async throws {
        runs += 1
        runsByStatus[run.status.rawValue, default: 0] += 1
        let start = run.forkSeq ?? 0
        let own = try await store.ownEntries(of: run.id, in: start..<Int.max)
        var bytes = 0
        for entry in own {
            entries += 1
            switch entry.outcome {
            case .value(let payload):
                committedEntries += 1
                bytes += payload.data.count
            case .error(let error):
                committedEntries += 1
                bytes += error.message.utf8.count
            case .started:
                inDoubtEntries += 1
            }
            bytes += (entry.input?.data.count ?? 0) + (entry.state?.approximateEncodedSize ?? 0)
            if entry.kind == .llm, entry.outcome != .started, let usage = entry.usage { spent.add(usage) }
        }
        recordedBytesByRun[run.id.rawValue] = bytes
        recordedBytes += bytes

        for execution in try await store.executions(of: run.id) {
            executions += 1
            guard execution.servedEntries > 0 || execution.diverged else { continue }
            replays += 1
            if execution.diverged { replayDivergences += 1 }
            if let latency = execution.replayDuration { replayLatencies.append(latency * 1000) }
            savedByReplay.add(execution.savedUsage, calls: execution.savedModelCalls)
        }
        if let parent = run.parentRunID, let first = own.first {
            forks += 1
            let parentEntry = try await store.journal(of: parent, upTo: start + 1).last.flatMap {
                $0.seq == start ? $0 : nil
            }
            if let parentEntry {
                if parentEntry.kind != first.kind || parentEntry.name != first.name
                    || parentEntry.inputHash != first.inputHash || parentEntry.outcome != first.outcome
                {
                    divergedForks += 1
                }
            } else {
                divergedForks += 1
            }
        }
    }

    private mutating func finish(replayLatencies: [Double]) {
        if entries > 0 { checkpointSuccessRate = Double(committedEntries) / Double(entries) }
        if replays > 0 { replaySuccessRate = Double(replays - replayDivergences) / Double(replays) }
        if forks > 0 { forkDivergenceRate = Double(divergedForks) / Double(forks) }
        let sorted = replayLatencies.sorted()
        if !sorted.isEmpty {
            replayLatencyMedianMs = sorted[sorted.count / 2]
            replayLatencyP95Ms = sorted[min(sorted.count - 1, sorted.count * 95 / 100)]
        }
    }
}
