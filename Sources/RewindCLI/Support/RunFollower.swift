import ArgumentParser
import Foundation
import Rewind

/// Executes a run in the foreground: prints its entries as they happen, stops it cleanly on
/// Ctrl-C, and reports how it ended with the matching exit code.
struct RunFollower {
    var location: StoreLocation
    var store: any RunStore
    var runtime: Runtime
    var printer: ProgressPrinter

    /// Waits for `execute` (which starts or resumes run `id`), with Ctrl-C asking the run to stop.
    ///
    /// - Returns: the exit code: 0 when the run completed.
    func follow(_ id: RunID, execute: @escaping @Sendable () async throws -> Void) async throws -> Int32 {
        let clock = ContinuousClock()
        let start = clock.now
        let runtime = self.runtime
        let interrupts = InterruptHandler {
            Console.error(
                "Ctrl-C: stopping run \(id) at its next journaled point… (press Ctrl-C again to exit at once)")
            Task { try? await runtime.cancel(id) }
        }
        defer { interrupts.cancel() }
        do {
            try await execute()
        } catch let error as RewindError
            where error.code == .runFailed || error.code == .runCancelled || error.code == .runNotFinished
        {
            // The record below says how the run ended.
        }
        let elapsed = (clock.now - start).seconds
        let record = try await store.requireRun(id)
        return report(record, elapsed: elapsed, interrupted: interrupts.wasInterrupted)
    }

    /// Prints how a run ended and returns the exit code.
    func report(_ record: RunRecord, elapsed: Double, interrupted: Bool) -> Int32 {
        let resumeCommand = "rewind resume \(record.id)\(location.commandArgument)"
        switch record.status {
        case .completed:
            Console.out(printer.totalsLine(status: "completed", elapsed: elapsed))
            Console.out("Output: \(Format.json(record.output ?? .null, maxLength: 500))")
            return ExitStatus.success
        case .failed:
            Console.out(printer.totalsLine(status: "failed", elapsed: elapsed))
            Console.error("error: run \(record.id) failed: \(record.error?.message ?? "unknown error")")
            Console.error("Inspect it with: rewind show \(record.id)\(location.commandArgument)")
            return ExitStatus.failure
        case .cancelled:
            Console.out(printer.totalsLine(status: "cancelled", elapsed: elapsed))
            Console.out("Run \(record.id) stopped after \(record.journalLength) entries and can be resumed:")
            Console.out("  \(resumeCommand)")
            return interrupted ? ExitStatus.interrupted : ExitStatus.notFinished
        case .suspended:
            Console.out(printer.totalsLine(status: "suspended", elapsed: elapsed))
            Console.out("Run \(record.id) is suspended, waiting with no process attached. Continue it with:")
            Console.out("  \(resumeCommand)")
            return ExitStatus.notFinished
        case .pending, .running:
            Console.error(
                "Run \(record.id) is \(record.status) and not finished here. Continue it with: \(resumeCommand)")
            return ExitStatus.notFinished
        }
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
