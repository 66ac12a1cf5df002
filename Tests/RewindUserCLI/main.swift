import Foundation
import Rewind
import RewindCLI

// A user's own `rewind` executable: every CLI command, with the user's workflow registered.
// The greeting can be changed with GREETING, to test that `rewind test` catches a code change.
let greeting = ProcessInfo.processInfo.environment["GREETING"] ?? "Hello"

let greet = Workflow<String, String>("greet") { ctx, name in
    let text = try await ctx.step("compose", input: ["greeting": greeting, "name": name]) { "\(greeting), \(name)!" }
    try await ctx.marker("composed")
    return text
}

await RewindCommand.main { runtime in runtime.register(greet) }
