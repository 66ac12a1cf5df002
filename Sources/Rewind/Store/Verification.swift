import Foundation

/// Something wrong in a store, found by ``StoreVerifier``.
public struct StoreProblem: Sendable, Hashable, Codable, CustomStringConvertible {
    /// What kind of problem: `journal-gap`, `journal-length`, `missing-parent`, `fork-beyond-parent`,
    /// `fork-cycle`, `blob-hash`, `blob-missing`, `blob-unreadable`, `unreadable-row`, `data-key`.
    public var kind: String
    /// The run concerned, if any.
    public var runID: RunID?
    /// The journal position concerned, if any.
    public var seq: Int?
    /// What is wrong, in words.
    public var message: String

    /// Creates a problem.
    public init(kind: String, runID: RunID? = nil, seq: Int? = nil, message: String) {
        self.kind = kind
        self.runID = runID
        self.seq = seq
        self.message = message
    }

    public var description: String {
        var place = ""
        if let runID { place += "run \(runID)" }
        if let seq { place += " seq \(seq)" }
        return place.isEmpty ? "\(kind): \(message)" : "\(kind) (\(place)): \(message)"
    }
}

/// What ``StoreVerifier/verify(_:progress:)`` found.
public struct VerificationReport: Sendable, Hashable, Codable {
    /// The runs checked.
    public var runsChecked: Int
    /// The journal entries checked.
    public var entriesChecked: Int
    /// Everything found wrong (empty: the store is sound).
    public var problems: [StoreProblem]

    /// Whether nothing is wrong.
    public var isSound: Bool { problems.isEmpty }
}

/// Checks a store without changing it: every run's journal is dense (positions `forkSeq…` to
/// its length, each once), every fork names a parent that exists and has the shared prefix,
/// encrypted runs' data keys are well-formed, and what the store itself checks
/// (``RunStore/verifyStorage()``: blob contents against their hashes, rows that parse).
public enum StoreVerifier {
    /// Verifies a store; `progress` is called after each run with the runs checked and the total.
    public static func verify(
        _ store: any RunStore, progress: (@Sendable (Int, Int) -> Void)? = nil
    ) async throws -> VerificationReport {
        // Encrypted payloads are checked as stored; verifying needs no key.
        let raw = (store as? ProtectedStore)?.base ?? store
        let runs = try await raw.allRuns()
        let byID = Dictionary(runs.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var report = VerificationReport(runsChecked: 0, entriesChecked: 0, problems: [])
        for run in runs {
            report.problems += lineageProblems(of: run, in: byID)
            report.problems += dataKeyProblems(of: run)
            let start = run.forkSeq ?? 0
            do {
                // Read in pages so that a long journal does not sit in memory whole.
                var expected = start
                var position = start
                var page: [JournalEntry]
                repeat {
                    page = try await raw.ownEntries(of: run.id, in: position..<(position + 1_000))
                    for entry in page {
                        if entry.seq != expected {
                            report.problems.append(
                                StoreProblem(
                                    kind: "journal-gap", runID: run.id, seq: expected,
                                    message: "entries \(expected)..<\(entry.seq) are missing"))
                        }
                        expected = entry.seq + 1
                    }
                    report.entriesChecked += page.count
                    position += 1_000
                } while position < run.journalLength || !page.isEmpty
                if expected != run.journalLength {
                    report.problems.append(
                        StoreProblem(
                            kind: "journal-length", runID: run.id,
                            message:
                                "the run says its journal has \(run.journalLength) entries; entries run to \(expected)"
                        ))
                }
            } catch let error as RewindError {
                report.problems.append(
                    StoreProblem(kind: "unreadable-row", runID: run.id, message: error.message))
            }
            report.runsChecked += 1
            progress?(report.runsChecked, runs.count)
        }
        report.problems += try await raw.verifyStorage()
        return report
    }

    static func lineageProblems(of run: RunRecord, in runs: [RunID: RunRecord]) -> [StoreProblem] {
        guard let parentID = run.parentRunID else { return [] }
        guard let parent = runs[parentID] else {
            return [
                StoreProblem(
                    kind: "missing-parent", runID: run.id,
                    message:
                        "it was forked from \(parentID), which is not in the store: its first \(run.forkSeq ?? 0) entries are gone"
                )
            ]
        }
        var problems: [StoreProblem] = []
        if let forkSeq = run.forkSeq, forkSeq > parent.journalLength {
            problems.append(
                StoreProblem(
                    kind: "fork-beyond-parent", runID: run.id,
                    message: "it shares \(forkSeq) entries of \(parentID), which has only \(parent.journalLength)"))
        }
        var seen: Set<RunID> = [run.id]
        var current = parent
        while true {
            guard seen.insert(current.id).inserted else {
                problems.append(
                    StoreProblem(kind: "fork-cycle", runID: run.id, message: "its lineage loops back to \(current.id)"))
                break
            }
            guard let next = current.parentRunID.flatMap({ runs[$0] }) else { break }
            current = next
        }
        return problems
    }

    static func dataKeyProblems(of run: RunRecord) -> [StoreProblem] {
        guard RunEncryption(run) == .malformed else { return [] }
        return [
            StoreProblem(
                kind: "data-key", runID: run.id,
                message: "its wrapped data key is malformed: its payloads cannot be decrypted")
        ]
    }
}
