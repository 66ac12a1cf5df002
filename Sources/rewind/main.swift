import RewindCLI

// The `rewind` executable knows the built-in `demo` workflow only; register your own
// workflows in your own executable the same way.
await RewindCommand.main(registering: { _ in })
