import ArgumentParser
import Foundation
import Rewind
import Synchronization

/// The retention options `rewind gc` and `rewind worker` share.
struct RetentionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Delete completed runs that finished longer ago than this (30d, 12h, 45m, 90s).", valueName: "age"))
    var keepCompleted: String?

    @Option(name: .long, help: ArgumentHelp("Delete failed runs that finished longer ago than this.", valueName: "age"))
    var keepFailed: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Delete cancelled runs that ended longer ago than this (default: as failed).", valueName: "age"))
    var keepCancelled: String?

    @Option(name: .long, help: ArgumentHelp("Keep the newest N runs of each workflow, however old.", valueName: "n"))
    var keepLast: Int?

    /// The policy, or `nil` when no age was given (nothing would be deleted).
    func policy() throws -> RetentionPolicy? {
        if let keepLast, keepLast < 0 { throw ValidationError("--keep-last must be 0 or more.") }
        do {
            let policy = RetentionPolicy(
                keepCompleted: try keepCompleted.map(RetentionPolicy.Age.init(parsing:)),
                keepFailed: try keepFailed.map(RetentionPolicy.Age.init(parsing:)),
                keepCancelled: try keepCancelled.map(RetentionPolicy.Age.init(parsing:)),
                keepLastPerWorkflow: keepLast)
            return policy.deletesAnything ? policy : nil
        } catch let error as RewindError {
            throw ValidationError(error.message)
        }
    }
}

/// `rewind gc`: deletes old finished runs by a retention policy, then unreferenced blobs.
struct GCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete old finished runs by a retention policy, then unreferenced payloads; reclaim space.",
        discussion: """
            Only completed, failed and cancelled runs older than their --keep-* age are deleted. Pending, \
            running and suspended runs are always kept (a run waiting for an approval stays however old), and \
            so is every run a kept run was forked from. --dry-run lists what would go and changes nothing. On \
            SQLite the file is vacuumed afterwards.

            Example: rewind gc --keep-completed 30d --keep-failed 90d --keep-last 10 --dry-run
            """)

    @OptionGroup var options: GlobalOptions
    @OptionGroup var retention: RetentionOptions

    @Flag(name: .long, help: "List what would be deleted; delete nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func validate() throws { _ = try retention.policy() }

    struct Output: Encodable {
        struct Deleted: Encodable {
            var run: String
            var workflow: String
            var status: String
            var reason: String
        }
        struct Kept: Encodable {
            var run: String
            var reason: String
        }
        var dryRun: Bool
        var runsExamined: Int
        var deleted: [Deleted]
        var kept: [Kept]
        var runsDeleted: Int
        var blobsDeleted: Int
        var bytesBefore: Int?
        var bytesAfter: Int?
    }

    func run() async throws {
        try await withErrorReporting(verbose: options.verbose) {
            guard let policy = try retention.policy() else {
                throw CLIError(
                    "Nothing to delete: give at least one of --keep-completed, --keep-failed, --keep-cancelled (e.g. --keep-completed 30d).",
                    exitCode: ExitStatus.usage)
            }
            let store = try await options.location.openExisting()
            let report = try await store.collectGarbage(policy, dryRun: dryRun)
            if json {
                Console.out(try jsonText(Self.output(report)))
                return
            }
            for line in Self.lines(report) { Console.out(line) }
        }
    }

    static func output(_ report: GarbageCollectionReport) -> Output {
        Output(
            dryRun: report.dryRun, runsExamined: report.runsExamined,
            deleted: report.deletions.map {
                .init(
                    run: $0.run.id.rawValue, workflow: $0.run.workflow, status: $0.run.status.rawValue,
                    reason: $0.reason)
            },
            kept: report.kept.map { .init(run: $0.runID.rawValue, reason: $0.reason) },
            runsDeleted: report.runsDeleted, blobsDeleted: report.space.blobsDeleted,
            bytesBefore: report.space.bytesBefore, bytesAfter: report.space.bytesAfter)
    }

    static func lines(_ report: GarbageCollectionReport) -> [String] {
        var lines: [String] = []
        let verb = report.dryRun ? "would delete" : "deleted"
        for deletion in report.deletions {
            lines.append("\(verb) \(deletion.run.id)  \(deletion.run.workflow)  \(deletion.reason)")
        }
        for kept in report.kept { lines.append("kept \(kept.runID): \(kept.reason)") }
        if report.dryRun {
            lines.append(
                "\(report.deletions.count) of \(report.runsExamined) runs would be deleted (dry run: nothing changed; run again without --dry-run)."
            )
        } else {
            var summary =
                "\(report.runsDeleted) of \(report.runsExamined) runs deleted, \(report.space.blobsDeleted) unreferenced blobs removed"
            if let before = report.space.bytesBefore, let after = report.space.bytesAfter {
                summary += "; store \(StatsCommand.bytes(before)) → \(StatsCommand.bytes(after))"
            }
            lines.append(summary + ".")
        }
        return lines
    }
}

/// `rewind verify`: checks a store and reports problems, changing nothing.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a store: blob hashes, dense journals, fork references. Changes nothing.",
        discussion: """
            Exits 0 when the store is sound and 8 when it found problems, each printed with its run and \
            position. Works on encrypted stores without the key.
            """)

    @OptionGroup var options: GlobalOptions

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        try await withErrorReporting(verbose: options.verbose) {
            let store = try await options.location.openExisting()
            let started = Date()
            let last = LastProgress()
            let report = try await StoreVerifier.verify(store) { checked, total in
                // A progress line on long stores, at most once a second.
                guard total >= 200, last.due() else { return }
                Console.error("verify: \(checked)/\(total) runs checked")
            }
            if json {
                Console.out(try jsonText(report))
            } else {
                for problem in report.problems { Console.out(problem.description) }
                let elapsed = String(format: "%.1f", Date().timeIntervalSince(started))
                Console.out(
                    report.isSound
                        ? "ok: \(report.runsChecked) runs, \(report.entriesChecked) entries checked in \(elapsed) s; no problems."
                        : "\(report.problems.count) problem(s) in \(report.runsChecked) runs, \(report.entriesChecked) entries. Nothing was changed."
                )
            }
            if !report.isSound { throw ExitCode(ExitStatus.storeDamaged) }
        }
    }
}

/// Rate-limits progress lines.
final class LastProgress: Sendable {
    private let last = Mutex(Date.distantPast)

    func due() -> Bool {
        last.withLock { last in
            let now = Date()
            guard now.timeIntervalSince(last) >= 1 else { return false }
            last = now
            return true
        }
    }
}

/// `rewind keys`: encryption keys.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make, rotate and erase encryption keys.",
        discussion: """
            Payloads are encrypted at rest when REWIND_ENCRYPTION_KEY (base64) or REWIND_ENCRYPTION_KEY_FILE \
            is set: each run gets its own data key, wrapped by that master key. To rotate, set the new key in \
            REWIND_ENCRYPTION_KEY and the old one in REWIND_ENCRYPTION_PREVIOUS_KEYS, run `rewind keys rotate`, \
            then drop the old key.
            """,
        subcommands: [Generate.self, Status.self, Rotate.self, Erase.self])

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate", abstract: "Print a new random master key (base64).")

        func run() async throws {
            let key = EncryptionKey.generate()
            Console.out(key.base64)
            Console.error("key id \(key.id); export REWIND_ENCRYPTION_KEY=<the line above>")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Count runs by how they are encrypted (master key id, plaintext, erased).")

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await withErrorReporting(verbose: options.verbose) {
                let store = try await options.location.openExisting()
                var counts: [String: Int] = [:]
                for run in try await store.allRuns() { counts["\(RunEncryption(run))", default: 0] += 1 }
                if let keyring = (store as? ProtectedStore)?.keyring {
                    Console.out("current key: \(keyring.current.id)")
                } else {
                    Console.out("current key: none (REWIND_ENCRYPTION_KEY is not set: new runs are not encrypted)")
                }
                for (label, count) in counts.sorted(by: { $0.key < $1.key }) { Console.out("\(label): \(count) runs") }
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate",
            abstract: "Re-wrap every run's data key with the current master key (payloads are not rewritten).")

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await withErrorReporting(verbose: options.verbose) {
                guard let store = try await options.location.openExisting() as? ProtectedStore, store.keyring != nil
                else {
                    throw CLIError(
                        "Set the new key in REWIND_ENCRYPTION_KEY and the old ones in REWIND_ENCRYPTION_PREVIOUS_KEYS.",
                        exitCode: ExitStatus.usage)
                }
                let last = LastProgress()
                let count = try await store.rotateKeys { done, total in
                    if total >= 200, last.due() { Console.error("rotate: \(done)/\(total) runs") }
                }
                Console.out("\(count) data keys re-wrapped with key \(store.keyring!.current.id).")
            }
        }
    }

    struct Erase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "erase",
            abstract: "Erase a run's data key: its encrypted payloads become unreadable for good.")

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The run whose key to erase.")
        var runID: String

        @Flag(name: .long, help: "Confirm: this cannot be undone.")
        var yes = false

        func run() async throws {
            try await withErrorReporting(verbose: options.verbose) {
                guard yes else {
                    throw CLIError(
                        "Erasing a run's key cannot be undone: its inputs, outputs and journal payloads become unreadable. Add --yes to confirm.",
                        exitCode: ExitStatus.usage)
                }
                guard let store = try await options.location.openExisting() as? ProtectedStore else {
                    throw CLIError("This store cannot erase keys.", exitCode: ExitStatus.failure)
                }
                try await store.eraseKey(of: RunID(runID))
                Console.out("The data key of \(runID) is erased; its payloads can no longer be read.")
            }
        }
    }
}
