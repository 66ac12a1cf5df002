import Foundation

/// Everything the store knows about a run, apart from its journal.
public struct RunRecord: Sendable, Hashable, Codable {
    /// The run's id.
    public var id: RunID
    /// The registered name of the workflow.
    public var workflow: String
    /// The workflow's version at the time the run started.
    public var workflowVersion: Int
    /// The input, as JSON.
    public var input: JSONValue
    /// Where the run is in its life.
    public var status: RunStatus
    /// The output, once completed.
    public var output: JSONValue?
    /// The error, once failed.
    public var error: RecordedError?
    /// The run this one was forked or continued from.
    public var parentRunID: RunID?
    /// The number of the parent's entries this run shares (`seq` < `forkSeq` are the parent's).
    public var forkSeq: Int?
    /// What the fork changed: a state patch and replaced outcomes, as given when forking.
    public var forkChanges: JSONValue?
    /// When the run was created.
    public var createdAt: Date
    /// When the run last changed.
    public var updatedAt: Date
    /// When the run finished, if it has.
    public var finishedAt: Date?
    /// Free-form tags.
    public var metadata: [String: String]
    /// The number of entries in the run's journal, including a shared fork prefix.
    public var journalLength: Int
    /// Who executes the run now, if anyone.
    public var lease: Lease?
    /// Whether a cancellation was requested and not yet acted upon.
    public var cancelRequested: Bool
    /// What the run waits for, while it is suspended.
    public var waitingFor: WaitCondition?
    /// When a suspended run should be looked at again (its deadline, or now when a signal arrived).
    public var wakeAt: Date?
    /// The queue the run waits in for a worker (``RunRecord/defaultQueue`` unless named): a
    /// worker executes the runs of the queues it serves.
    public var queue: String

    /// The queue of runs started without one.
    public static let defaultQueue = "default"

    /// Creates a run record.
    public init(
        id: RunID, workflow: String, workflowVersion: Int = 1, input: JSONValue, status: RunStatus = .pending,
        output: JSONValue? = nil, error: RecordedError? = nil, parentRunID: RunID? = nil, forkSeq: Int? = nil,
        forkChanges: JSONValue? = nil, createdAt: Date = Date(), updatedAt: Date? = nil, finishedAt: Date? = nil,
        metadata: [String: String] = [:], journalLength: Int? = nil, lease: Lease? = nil, cancelRequested: Bool = false,
        waitingFor: WaitCondition? = nil, wakeAt: Date? = nil, queue: String = RunRecord.defaultQueue
    ) {
        self.id = id
        self.workflow = workflow
        self.workflowVersion = workflowVersion
        self.input = input
        self.status = status
        self.output = output
        self.error = error
        self.parentRunID = parentRunID
        self.forkSeq = forkSeq
        self.forkChanges = forkChanges
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.finishedAt = finishedAt
        self.metadata = metadata
        self.journalLength = journalLength ?? forkSeq ?? 0
        self.lease = lease
        self.cancelRequested = cancelRequested
        self.waitingFor = waitingFor
        self.wakeAt = wakeAt
        self.queue = queue
    }

    private enum CodingKeys: String, CodingKey {
        case id, workflow, workflowVersion, input, status, output, error, parentRunID, forkSeq, forkChanges
        case createdAt, updatedAt, finishedAt, metadata, journalLength, lease, cancelRequested, waitingFor, wakeAt
        case queue
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(RunID.self, forKey: .id)
        workflow = try container.decode(String.self, forKey: .workflow)
        workflowVersion = try container.decode(Int.self, forKey: .workflowVersion)
        input = try container.decode(JSONValue.self, forKey: .input)
        status = try container.decode(RunStatus.self, forKey: .status)
        output = try container.decodeIfPresent(JSONValue.self, forKey: .output)
        error = try container.decodeIfPresent(RecordedError.self, forKey: .error)
        parentRunID = try container.decodeIfPresent(RunID.self, forKey: .parentRunID)
        forkSeq = try container.decodeIfPresent(Int.self, forKey: .forkSeq)
        forkChanges = try container.decodeIfPresent(JSONValue.self, forKey: .forkChanges)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        updatedAt = try container.decode(Date.self, forKey: .updatedAt)
        finishedAt = try container.decodeIfPresent(Date.self, forKey: .finishedAt)
        metadata = try container.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:]
        journalLength = try container.decode(Int.self, forKey: .journalLength)
        lease = try container.decodeIfPresent(Lease.self, forKey: .lease)
        cancelRequested = try container.decodeIfPresent(Bool.self, forKey: .cancelRequested) ?? false
        waitingFor = try container.decodeIfPresent(WaitCondition.self, forKey: .waitingFor)
        wakeAt = try container.decodeIfPresent(Date.self, forKey: .wakeAt)
        // Records written before queues existed belong to the default queue.
        queue = try container.decodeIfPresent(String.self, forKey: .queue) ?? RunRecord.defaultQueue
    }
}

/// A claim on a run by one executing process, valid until it expires.
public struct Lease: Sendable, Hashable, Codable {
    /// Who holds the lease: `host:pid:token`.
    public var owner: String
    /// When the lease ends unless renewed.
    public var expiresAt: Date

    /// Creates a lease.
    public init(owner: String, expiresAt: Date) {
        self.owner = owner
        self.expiresAt = expiresAt
    }
}

/// How a run ends when its executor lets go of it.
public enum RunCompletion: Sendable, Hashable {
    /// Finished with an output.
    case completed(JSONValue)
    /// Finished with an error.
    case failed(RecordedError)
    /// Stopped on request.
    case cancelled
    /// Waiting with no process attached, for what the condition says.
    case suspended(WaitCondition)
    /// Given back unfinished, to be resumed by anyone (for a graceful shutdown).
    case released

    /// The status the run gets.
    public var status: RunStatus {
        switch self {
        case .completed: return .completed
        case .failed: return .failed
        case .cancelled: return .cancelled
        case .suspended: return .suspended
        case .released: return .pending
        }
    }
}

/// Which runs to list, and how many.
public struct RunQuery: Sendable, Hashable {
    /// Only runs with one of these statuses (all when empty).
    public var statuses: Set<RunStatus>
    /// Only runs of this workflow.
    public var workflow: String?
    /// Only runs forked from this run.
    public var parentRunID: RunID?
    /// Only runs with an id before this one (for the next page, newest first).
    public var before: RunID?
    /// The most runs to return.
    public var limit: Int

    /// Creates a query; the default lists the 100 newest runs.
    public init(
        statuses: Set<RunStatus> = [], workflow: String? = nil, parentRunID: RunID? = nil, before: RunID? = nil,
        limit: Int = 100
    ) {
        self.statuses = statuses
        self.workflow = workflow
        self.parentRunID = parentRunID
        self.before = before
        self.limit = limit
    }

    /// Whether a run matches the filters (not the page bounds).
    public func matches(_ run: RunRecord) -> Bool {
        (statuses.isEmpty || statuses.contains(run.status)) && (workflow == nil || run.workflow == workflow)
            && (parentRunID == nil || run.parentRunID == parentRunID) && (before == nil || run.id < before!)
    }
}
