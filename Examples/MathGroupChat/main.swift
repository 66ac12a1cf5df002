import Foundation
import Rewind
import RewindAgents
import RewindCLI
import RewindSQLite

// A math problem solved by a solver, a code runner (which executes Python) and a critic, with a
// manager model choosing who speaks and SOLUTION_FOUND ending the chat. Scripted offline; real
// models with OPENAI_API_KEY / OPENAI_BASE_URL or ANTHROPIC_API_KEY.
//
//     swift run MathGroupChat                                   # records the chat (run "math")
//     swift run MathGroupChat continue math --at message_appended#1 --rounds 2
//     swift run MathGroupChat history math                      # every `rewind` command works

let storePath = ".rewind/examples.sqlite"
let environment = ProcessInfo.processInfo.environment
if CommandLine.arguments.count > 1 {
    if environment["REWIND_STORE"] == nil { setenv("REWIND_STORE", storePath, 1) }
    await RewindCommand.main { _ in }  // math-chat is built into the `rewind` command
    exit(0)
}

try FileManager.default.createDirectory(atPath: ".rewind", withIntermediateDirectories: true)
let store = try SQLiteStore(path: storePath)
let runtime = Runtime(store: store)
let workflow = MathChatDemo.workflow()
print("Models: \(MathChatDemo.models().description)")
let result = try await runtime.run(workflow, input: GroupChatInput(task: MathChatDemo.defaultTask), id: "math")
for message in result.messages { print("\(message.speaker): \(message.content)") }
print("Stopped: \(result.stopReason) after \(result.rounds) messages.")
for milestone in try await GroupChat.milestones(of: "math", in: store) {
    print("  milestone \(milestone.name) at seq \(milestone.seq)")
}
