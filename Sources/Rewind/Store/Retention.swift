import Foundation

/// Which finished runs a store keeps, for ``RunStore/collectGarbage(_:now:dryRun:)`` and `rewind gc`.
///
/// Only finished runs (completed, failed, cancelled) are ever deleted. Pending, running and
/// suspended runs are always kept — a run waiting for a human's approval stays however old it
/// is — and so is every run a kept run was forked from (its journal prefix is shared by
/// reference), up the whole lineage.
///
/// ```swift
/// let policy = RetentionPolicy(keepCompleted: .days(30), keepFailed: .days(90), keepLastPerWorkflow: 10)
/// let report = try await store.collectGarbage(policy)
/// ```
public struct RetentionPolicy: Sendable, Hashable, Codable {
    /// How long completed runs are kept after they finished (`nil`: forever).
    public var keepCompleted: Age?
    /// How long failed runs are kept after they finished (`nil`: forever).
    public var keepFailed: Age?
    /// How long cancelled runs are kept after they finished (`nil`: as failed runs).
    public var keepCancelled: Age?
    /// The newest runs of each workflow kept whatever their age (`nil` or 0: none in particular).
    public var keepLastPerWorkflow: Int?

    /// A duration in seconds, written in days or hours.
    public struct Age: Sendable, Hashable, Codable, CustomStringConvertible {
        /// The duration, in seconds.
        public var seconds: Double

        /// An age in seconds.
        public init(seconds: Double) { self.seconds = seconds }

        /// `days` days.
        public static func days(_ days: Double) -> Age { Age(seconds: days * 86_400) }

        /// `hours` hours.
        public static func hours(_ hours: Double) -> Age { Age(seconds: hours * 3_600) }

        /// Reads `30d`, `12h`, `45m` or `90s` (a bare number is days).
        ///
        /// - Throws: ``RewindError/Code/invalidArgument`` with the accepted forms.
        public init(parsing text: String) throws {
            let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
            let units: [Character: Double] = ["d": 86_400, "h": 3_600, "m": 60, "s": 1]
            var number = Substring(trimmed)
            var unit = 86_400.0
            if let last = trimmed.last, let scale = units[last] {
                number = trimmed.dropLast()
                unit = scale
            }
            guard let value = Double(number), value >= 0, value.isFinite else {
                throw RewindError(
                    .invalidArgument,
                    "\"\(text)\" is not an age: write a number of days (30d), hours (12h), minutes (45m) or seconds (90s)."
                )
            }
            seconds = value * unit
        }

        public var description: String {
            if seconds >= 86_400, seconds.truncatingRemainder(dividingBy: 86_400) == 0 {
                return "\(Int(seconds / 86_400))d"
            }
            if seconds >= 3_600, seconds.truncatingRemainder(dividingBy: 3_600) == 0 {
                return "\(Int(seconds / 3_600))h"
            }
            return "\(Int(seconds))s"
        }
    }

    /// Creates a policy; with no arguments it keeps everything.
    public init(
        keepCompleted: Age? = nil, keepFailed: Age? = nil, keepCancelled: Age? = nil, keepLastPerWorkflow: Int? = nil
    ) {
        self.keepCompleted = keepCompleted
        self.keepFailed = keepFailed
        self.keepCancelled = keepCancelled
        self.keepLastPerWorkflow = keepLastPerWorkflow
    }

    /// How long a finished run of this status is kept (`nil`: forever or not finished).
    func age(for status: RunStatus) -> Age? {
        switch status {
        case .completed: return keepCompleted
        case .failed: return keepFailed
        case .cancelled: return keepCancelled ?? keepFailed
        case .pending, .running, .suspended: return nil
        }
    }

    /// Whether the policy can delete anything at all.
    public var deletesAnything: Bool { keepCompleted != nil || keepFailed != nil || keepCancelled != nil }
}

/// What ``RunStore/collectGarbage(_:now:dryRun:)`` deleted, or would delete in a dry run.
public struct GarbageCollectionReport: Sendable, Hashable {
    /// A run deleted (or to be deleted), and why it may go.
    public struct Deletion: Sendable, Hashable {
        /// The run.
        public var run: RunRecord
        /// Why: its status and how long ago it finished, against the policy.
        public var reason: String
    }

    /// A run the policy's age would delete but that is kept, and why.
    public struct Kept: Sendable, Hashable {
        /// The run.
        public var runID: RunID
        /// Why it stays (a fork of it is kept, it is among the newest of its workflow).
        public var reason: String
    }

    /// Whether nothing was deleted (only listed).
    public var dryRun: Bool
    /// The runs deleted, or to be deleted.
    public var deletions: [Deletion]
    /// Old runs kept: fork parents of kept runs and the newest per workflow.
    public var kept: [Kept]
    /// How many runs the store has in all (before deleting).
    public var runsExamined: Int
    /// Runs deleted by the store (0 in a dry run).
    public var runsDeleted: Int
    /// Blobs deleted and space given back (nothing in a dry run).
    public var space: SpaceReclaimed
}

/// What ``RunStore/reclaimSpace()`` removed.
public struct SpaceReclaimed: Sendable, Hashable, Codable {
    /// Payload blobs no entry referred to any more, deleted.
    public var blobsDeleted: Int
    /// The store's size before and after, in bytes, when it has one (a SQLite file).
    public var bytesBefore: Int?
    /// The store's size after reclaiming.
    public var bytesAfter: Int?

    /// Creates a summary.
    public init(blobsDeleted: Int = 0, bytesBefore: Int? = nil, bytesAfter: Int? = nil) {
        self.blobsDeleted = blobsDeleted
        self.bytesBefore = bytesBefore
        self.bytesAfter = bytesAfter
    }
}

extension RunStore {
    /// Every run in the store, newest first, read page by page.
    public func allRuns(pageSize: Int = 1_000) async throws -> [RunRecord] {
        var runs: [RunRecord] = []
        var before: RunID?
        while true {
            let page = try await listRuns(RunQuery(before: before, limit: pageSize))
            runs += page
            guard page.count == pageSize, let last = page.last else { return runs }
            before = last.id
        }
    }

    /// Deletes the finished runs the policy no longer keeps, then unreferenced blobs, and gives
    /// the space back.
    ///
    /// Never deletes a pending, running or suspended run, nor a run that a kept run was forked
    /// from (directly or through other forks).
    /// - Parameter dryRun: only report what would be deleted; nothing changes.
    public func collectGarbage(
        _ policy: RetentionPolicy, now: Date = Date(), dryRun: Bool = false
    ) async throws -> GarbageCollectionReport {
        let runs = try await allRuns()
        var report = GarbageCollectionReport(
            dryRun: dryRun, deletions: [], kept: [], runsExamined: runs.count, runsDeleted: 0, space: SpaceReclaimed())
        let plan = RetentionPlan(policy: policy, runs: runs, now: now)
        report.deletions = plan.deletions
        report.kept = plan.kept
        guard !dryRun else { return report }
        if !plan.deletions.isEmpty {
            // Batches keep each transaction short; a fork and its parent may land in different
            // batches since nothing kept depends on either.
            let ids = plan.deletions.map(\.run.id)
            for start in stride(from: 0, to: ids.count, by: 500) {
                report.runsDeleted += try await deleteRuns(Array(ids[start..<min(start + 500, ids.count)]))
            }
        }
        report.space = try await reclaimSpace()
        return report
    }
}

/// Which runs a policy deletes, decided on a list of runs (no store access).
struct RetentionPlan {
    var deletions: [GarbageCollectionReport.Deletion] = []
    var kept: [GarbageCollectionReport.Kept] = []

    init(policy: RetentionPolicy, runs: [RunRecord], now: Date) {
        let byID = Dictionary(runs.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var candidates: [RunID: String] = [:]
        for run in runs {
            guard run.status.isTerminal, let age = policy.age(for: run.status) else { continue }
            let finished = run.finishedAt ?? run.updatedAt
            let elapsed = now.timeIntervalSince(finished)
            if elapsed > age.seconds {
                candidates[run.id] =
                    "\(run.status) \(RetentionPolicy.Age(seconds: elapsed.rounded(.down))) ago (keep \(run.status): \(age))"
            }
        }
        var keptReasons: [RunID: String] = [:]
        if let last = policy.keepLastPerWorkflow, last > 0 {
            for (workflow, ofWorkflow) in Dictionary(grouping: runs, by: \.workflow) {
                let newest = ofWorkflow.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.prefix(last)
                for run in newest where candidates[run.id] != nil {
                    keptReasons[run.id] = "among the \(last) newest runs of \(workflow)"
                }
            }
        }
        // Every kept run keeps its ancestors: a fork reads its parent's entries by reference.
        for run in runs where candidates[run.id] == nil || keptReasons[run.id] != nil {
            var child = run
            while let parentID = child.parentRunID, let parent = byID[parentID] {
                if candidates[parentID] != nil, keptReasons[parentID] == nil {
                    keptReasons[parentID] = "run \(run.id) (\(run.status)) was forked from it"
                }
                child = parent
            }
        }
        for run in runs {
            guard let reason = candidates[run.id] else { continue }
            if let keptReason = keptReasons[run.id] {
                kept.append(.init(runID: run.id, reason: keptReason))
            } else {
                deletions.append(.init(run: run, reason: reason))
            }
        }
    }
}
