// A child process for the crash tests: runs a durable workflow of many steps on a SQLite
// store, writing each step's side effect to a file, and optionally pausing forever after a
// given step has been committed so that the test can kill it with SIGKILL at a known point.
//
//   RewindCrashWorker --store PATH --run ID --steps N --effects FILE [--pause-after K] [--step-ms MS]
import Foundation
import Rewind
import RewindSQLite

struct Options {
    var store = ""
    var run = ""
    var steps = 50
    var effects = ""
    var pauseAfter: Int?
    var stepMilliseconds = 0

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            let value = iterator.next() ?? ""
            switch flag {
            case "--store": store = value
            case "--run": run = value
            case "--steps": steps = Int(value) ?? steps
            case "--effects": effects = value
            case "--pause-after": pauseAfter = Int(value)
            case "--step-ms": stepMilliseconds = Int(value) ?? 0
            default:
                FileHandle.standardError.write(Data("unknown option \(flag)\n".utf8))
                exit(2)
            }
        }
    }
}

struct Output: Codable {
    var sum: Int
    var digest: String
}

func appendLine(_ line: String, to path: String) {
    let handle =
        FileHandle(forWritingAtPath: path)
        ?? {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)!
        }()
    handle.seekToEndOfFile()
    handle.write(Data((line + "\n").utf8))
    try? handle.close()
}

let options = Options(CommandLine.arguments)
/// Writes a line to standard output at once (no buffering: the parent waits for it).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

let workflow = Workflow<Int, Output>("crash-steps") { ctx, steps in
    var sum = 0
    var digest = ""
    for i in 0..<steps {
        let value = try await ctx.step("step-\(i)", input: i) {
            appendLine("step-\(i)", to: options.effects)
            if options.stepMilliseconds > 0 { try? await Task.sleep(for: .milliseconds(options.stepMilliseconds)) }
            return i * i + 7
        }
        sum += value
        digest = ContentHash.sha256(Data("\(digest)\(value)".utf8))
        if i == options.pauseAfter {
            say("paused \(i)")
            while true { try? await Task.sleep(for: .seconds(60)) }
        }
    }
    return Output(sum: sum, digest: digest)
}

do {
    let store = try SQLiteStore(path: options.store)
    let runtime = Runtime(store: store)
    runtime.register(workflow)
    let id = RunID(options.run)
    let output: Output
    if try await store.run(id) == nil {
        output = try await runtime.run(workflow, input: options.steps, id: id)
    } else {
        let record = try await runtime.resume(id)
        output = try record.output!.decode(as: Output.self)
    }
    say("output \(try JSONValue(encoding: output).canonicalString)")
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
