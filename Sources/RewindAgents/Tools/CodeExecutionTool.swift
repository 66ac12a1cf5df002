import Dispatch
import Foundation
import Rewind

/// A `.write` tool that runs a shell command or a script in a working directory, with a
/// timeout and a limit on the output it returns.
///
/// Like any tool call it is journaled, so a code-executing agent's run replays without running
/// the code again; being a side effect, it gets a *started* entry before it runs (in doubt after
/// a crash: `inDoubtPolicy`, `.retry` by default).
public struct CodeExecutionTool: Tool {
    public struct Arguments: Decodable, Sendable {
        /// A shell command (`/bin/sh -c`).
        public var command: String?
        /// A script, run by `language`'s interpreter.
        public var script: String?
        /// `python3` or `sh` (for `script`; `python3` by default).
        public var language: String?

        /// Creates arguments: a command, or a script in a language.
        public init(command: String? = nil, script: String? = nil, language: String? = nil) {
            self.command = command
            self.script = script
            self.language = language
        }
    }

    public struct Output: Encodable, Sendable, Hashable {
        public var exitCode: Int32
        public var stdout: String
        public var stderr: String
        public var timedOut: Bool
        public var truncated: Bool
    }

    public let name: String
    public let description =
        "Runs a shell command (`command`) or a script (`script`, with `language` python3 or sh) in a sandbox directory and returns the exit code, standard output and standard error."
    public var parametersSchema: JSONValue {
        [
            "type": "object",
            "properties": [
                "command": ["type": "string", "description": "A shell command."],
                "script": ["type": "string", "description": "A script to run."],
                "language": ["type": "string", "enum": ["python3", "sh"]],
            ],
        ]
    }
    public var kind: ToolKind { .write }
    public let inDoubtPolicy: InDoubtPolicy

    /// Where commands run.
    public let workingDirectory: URL
    /// The longest a command may run before it is terminated.
    public let timeout: Duration
    /// The most characters of standard output and of standard error returned.
    public let outputLimit: Int

    /// Creates the tool.
    public init(
        name: String = "run_code", workingDirectory: URL, timeout: Duration = .seconds(10), outputLimit: Int = 8_000,
        inDoubtPolicy: InDoubtPolicy = .retry
    ) {
        self.name = name
        self.workingDirectory = workingDirectory
        self.timeout = timeout
        self.outputLimit = outputLimit
        self.inDoubtPolicy = inDoubtPolicy
    }

    public func call(arguments: Arguments) async throws -> Output {
        let process = Process()
        if let command = arguments.command, !command.isEmpty {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
        } else if let script = arguments.script, !script.isEmpty {
            let language = arguments.language ?? "python3"
            guard ["python3", "sh"].contains(language) else {
                throw ToolError.message("language must be python3 or sh, not \(language)")
            }
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [language, "-c", script]
        } else {
            throw ToolError.message("give a command or a script")
        }
        try FileManager.default.createDirectory(at: workingDirectory, withIntermediateDirectories: true)
        process.currentDirectoryURL = workingDirectory
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes while the process runs, so a large output cannot block it. The reads
        // block, so they run on Dispatch threads, never on the cooperative pool.
        async let out = Self.readToEnd(stdout.fileHandleForReading)
        async let err = Self.readToEnd(stderr.fileHandleForReading)
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var timedOut = false
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                timedOut = true
                process.terminate()
                break
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        process.waitUntilExit()
        let (outData, errData) = await (out, err)
        func limited(_ data: Data) -> (String, Bool) {
            let text = String(decoding: data, as: UTF8.self)
            return text.count > outputLimit ? (String(text.prefix(outputLimit)), true) : (text, false)
        }
        let (outText, outCut) = limited(outData)
        let (errText, errCut) = limited(errData)
        return Output(
            exitCode: timedOut ? -1 : process.terminationStatus, stdout: outText,
            stderr: timedOut ? errText + "\n(terminated after \(timeout))" : errText, timedOut: timedOut,
            truncated: outCut || errCut)
    }

    private static func readToEnd(_ handle: FileHandle) async -> Data {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: handle.readDataToEndOfFile()) }
        }
    }
}
