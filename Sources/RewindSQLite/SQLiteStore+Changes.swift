import Foundation
import Rewind

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SQLiteStore {
    /// The write-ahead log's size and modification time.
    public func changeToken() async -> StoreChangeToken {
        StoreChangeToken(fingerprint: Self.logFingerprint(path + "-wal") ?? [])
    }

    /// Returns when a connection or process wrote to the store since `token` (its write-ahead
    /// log changed), after `timeout`, or when the task is cancelled.
    ///
    /// It looks at the log's size and modification time every 10 ms, which costs a `stat` call;
    /// a worker waiting on it picks up a signal sent from another process within about 10 ms
    /// instead of at its next poll. The store's own writes also count as changes.
    public func waitForChanges(since token: StoreChangeToken, upTo timeout: Duration) async {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        let initial = token.fingerprint
        if (Self.logFingerprint(path + "-wal") ?? []) != initial { return }
        while clock.now < deadline {
            do {
                try await Task.sleep(for: min(.milliseconds(10), deadline - clock.now))
            } catch {
                return
            }
            if (Self.logFingerprint(path + "-wal") ?? []) != initial { return }
        }
    }

    /// The size and modification time of a file, or `nil` when it does not exist.
    private static func logFingerprint(_ path: String) -> [Int]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        #if canImport(Darwin)
        return [Int(info.st_size), Int(info.st_mtimespec.tv_sec), Int(info.st_mtimespec.tv_nsec)]
        #else
        return [Int(info.st_size), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec)]
        #endif
    }
}
