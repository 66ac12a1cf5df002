import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns Ctrl-C (SIGINT) into a cooperative stop: the first one calls a handler (which asks
/// the run to stop at its next journaled point), a second one exits at once.
///
/// A run left by the second Ctrl-C is still `running` in the store; `rewind resume` takes it
/// over because its process is gone.
final class InterruptHandler: Sendable {
    private let counter = InterruptCounter()
    private let source: SignalSourceBox

    /// Installs the handler; it stays installed until ``cancel()``.
    init(onFirstInterrupt: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        self.source = SignalSourceBox(source)
        source.setEventHandler { [counter] in
            let number = counter.count.withLock { value -> Int in
                value += 1
                return value
            }
            if number == 1 {
                onFirstInterrupt()
            } else {
                Console.error(
                    "Interrupted again: exiting now. The run is left as it was; `rewind resume` continues it.")
                exit(ExitStatus.interrupted)
            }
        }
        source.resume()
    }

    /// Whether Ctrl-C was pressed.
    var wasInterrupted: Bool { counter.count.withLock { $0 > 0 } }

    /// Removes the handler and restores the default action of SIGINT.
    func cancel() {
        source.source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}

/// The number of interrupts received.
private final class InterruptCounter: Sendable {
    let count = Mutex(0)
}

/// Holds a dispatch source, which is safe to use from any thread.
private final class SignalSourceBox: @unchecked Sendable {
    let source: any DispatchSourceSignal
    init(_ source: any DispatchSourceSignal) { self.source = source }
}
