// A helper process for tests that need a second OS process on the same store.
//
// Usage: RewindTestWorker <command> [arguments…]
//
//   append-race <store-path> <run-id> <seq> <label> <go-file>
//       Opens the store, waits until <go-file> exists (so that several workers start
//       together), then appends one entry named <label> at <seq>. Prints `won` and exits 0,
//       or prints `conflict` and exits 3 when another writer took that position first.
//
// Exit status 2: bad usage; 1: any other failure (the error is printed on standard error).

import Foundation
import Rewind
import RewindSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum WorkerExit: Int32 {
    case success = 0
    case failure = 1
    case usage = 2
    case conflict = 3
}

func fail(_ message: String, _ status: WorkerExit) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(status.rawValue)
}

/// Runs `append-race <store-path> <run-id> <seq> <label> <go-file>`.
func appendRace(_ arguments: [String]) async -> WorkerExit {
    guard arguments.count == 5, let seq = Int(arguments[2]) else {
        fail("usage: append-race <store-path> <run-id> <seq> <label> <go-file>", .usage)
    }
    let (path, runID, label, goFile) = (arguments[0], RunID(arguments[1]), arguments[3], arguments[4])
    do {
        let store = try SQLiteStore(path: path)
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: goFile) {
            guard Date() < deadline else { fail("timed out waiting for \(goFile)", .failure) }
            usleep(200)
        }
        let entry = JournalEntry(
            runID: runID, seq: seq, kind: .step, name: label, outcome: .value(Payload(.string(label))))
        do {
            try await store.append([entry], to: runID, expectedSeq: seq, leaseOwner: nil)
            print("won")
            return .success
        } catch let error as RewindError where error.code == .conflict {
            print("conflict")
            return .conflict
        }
    } catch {
        fail("append-race failed: \(error)", .failure)
    }
}

let commands: [String: @Sendable ([String]) async -> WorkerExit] = [
    "append-race": appendRace
]

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first, let command = commands[name] else {
    fail("usage: RewindTestWorker <\(commands.keys.sorted().joined(separator: "|"))> [arguments…]", .usage)
}
let status = await command(Array(arguments.dropFirst()))
exit(status.rawValue)
