import Foundation

/// How one execution of a run went.
///
/// What it served from the journal, what it ran live, how long the replay took, and how it
/// ended. Stores keep these for `rewind stats`.
public struct ExecutionRecord: Sendable, Hashable, Codable {
    /// The run.
    public var runID: RunID
    /// The run's workflow.
    public var workflow: String
    /// `resume` or `fork`.
    public var mode: String
    /// When the execution began.
    public var startedAt: Date
    /// How long it took, in seconds.
    public var duration: Double
    /// Entries served from the journal.
    public var servedEntries: Int
    /// Entries executed live and recorded.
    public var liveEntries: Int
    /// Seconds until the last recorded entry was served (`nil` when nothing was served).
    public var replayDuration: Double?
    /// The run's status when the execution ended.
    public var status: RunStatus
    /// Whether the code no longer matched the journal (a `NonDeterminismError`).
    public var diverged: Bool
    /// Tokens and cost of the model calls served instead of being made again.
    public var savedUsage: Usage
    /// How many model calls were served instead of being made again.
    public var savedModelCalls: Int

    /// Creates a record.
    public init(
        runID: RunID, workflow: String, mode: String, startedAt: Date, duration: Double, servedEntries: Int,
        liveEntries: Int, replayDuration: Double?, status: RunStatus, diverged: Bool, savedUsage: Usage = Usage(),
        savedModelCalls: Int = 0
    ) {
        self.savedModelCalls = savedModelCalls
        self.runID = runID
        self.workflow = workflow
        self.mode = mode
        self.startedAt = startedAt
        self.duration = duration
        self.servedEntries = servedEntries
        self.liveEntries = liveEntries
        self.replayDuration = replayDuration
        self.status = status
        self.diverged = diverged
        self.savedUsage = savedUsage
    }
}
