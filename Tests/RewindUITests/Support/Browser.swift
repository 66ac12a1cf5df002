import Foundation
import Rewind
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A headless Chromium driven over the Chrome DevTools Protocol, through the pipe Chromium
/// opens with `--remote-debugging-pipe` (file descriptors 3 and 4, messages ended by NUL).
///
/// Every command has a timeout, so a hung browser fails the test instead of hanging it;
/// ``shutDown()`` kills the browser and removes its profile.
final class Browser: Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    private struct State {
        var nextID = 0
        var pending: [Int: CheckedContinuation<JSONValue, any Error>] = [:]
        var closed = false
        var stopped = false
    }

    let pid: pid_t
    private let input: Int32
    private let output: Int32
    private let profile: URL
    private let state = Mutex(State())
    private let session = Mutex<String?>(nil)
    /// The viewport's width and height, in CSS pixels.
    let viewport = (width: 1400, height: 900)

    /// The Chromium executable: `$REWIND_CHROMIUM`, else Debian's `chromium`.
    static func executable() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        var candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        if let custom = environment["REWIND_CHROMIUM"], !custom.isEmpty { candidates.insert(custom, at: 0) }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw Failure(
                "Chromium is not installed: `apt-get install -y chromium` (scripts/bootstrap.sh installs it), or set REWIND_CHROMIUM."
            )
        }
        return found
    }

    /// Starts a headless Chromium with a fresh profile and opens a page in it.
    static func launch() async throws -> Browser {
        let path = try executable()
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rewind-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        let arguments = [
            path, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--mute-audio", "--hide-scrollbars",
            "--remote-debugging-pipe", "--user-data-dir=\(profile.path)", "--window-size=1400,900", "about:blank",
        ]
        var toBrowser: [Int32] = [0, 0]
        var fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else { throw Failure("pipe() failed: \(errno)") }
        // Moved above 4, so that the dup2 into 3 and 4 below never meets itself.
        func high(_ fd: Int32) -> Int32 {
            let moved = fcntl(fd, F_DUPFD_CLOEXEC, 100)
            closeDescriptor(fd)
            return moved
        }
        let childIn = high(toBrowser[0])
        let ourOut = high(toBrowser[1])
        let ourIn = high(fromBrowser[0])
        let childOut = high(fromBrowser[1])

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, childIn, 3)
        posix_spawn_file_actions_adddup2(&actions, childOut, 4)
        let log = profile.appendingPathComponent("chromium.log").path
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)

        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, &argv, environ)
        closeDescriptor(childIn)
        closeDescriptor(childOut)
        guard spawned == 0 else {
            closeDescriptor(ourOut)
            closeDescriptor(ourIn)
            throw Failure("Could not start \(path): error \(spawned)")
        }
        let browser = Browser(pid: pid, input: ourIn, output: ourOut, profile: profile)
        browser.startReading()
        do {
            let target = try await browser.send("Target.createTarget", ["url": "about:blank"], inSession: false)
            guard let targetID = target["targetId"]?.stringValue else { throw Failure("No target: \(target)") }
            let attached = try await browser.send(
                "Target.attachToTarget", ["targetId": .string(targetID), "flatten": true], inSession: false)
            guard let sessionID = attached["sessionId"]?.stringValue else { throw Failure("Not attached: \(attached)") }
            browser.session.withLock { $0 = sessionID }
            _ = try await browser.send(
                "Emulation.setDeviceMetricsOverride",
                [
                    "width": .int(browser.viewport.width), "height": .int(browser.viewport.height),
                    "deviceScaleFactor": 1, "mobile": false,
                ])
        } catch {
            browser.shutDown()
            throw error
        }
        return browser
    }

    private init(pid: pid_t, input: Int32, output: Int32, profile: URL) {
        self.pid = pid
        self.input = input
        self.output = output
        self.profile = profile
    }

    deinit { shutDown() }

    private func startReading() {
        let fd = input
        let thread = Thread { [self] in
            var buffer: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
                buffer.append(contentsOf: chunk[0..<count])
                while let end = buffer.firstIndex(of: 0) {
                    let message = Data(buffer[..<end])
                    buffer.removeSubrange(...end)
                    self.deliver(message)
                }
            }
            Browser.closeDescriptor(fd)
            self.failAll(Failure("Chromium closed the DevTools pipe (it exited)."))
        }
        thread.start()
    }

    private func deliver(_ message: Data) {
        guard let json = try? JSONValue(parsing: message), let id = json["id"]?.intValue else { return }
        let continuation = state.withLock { $0.pending.removeValue(forKey: id) }
        if let error = json["error"] {
            continuation?.resume(throwing: Failure("DevTools error: \(error.canonicalString)"))
        } else {
            continuation?.resume(returning: json["result"] ?? .null)
        }
    }

    private func failAll(_ error: any Error) {
        let pending = state.withLock { state in
            state.closed = true
            defer { state.pending = [:] }
            return Array(state.pending.values)
        }
        for continuation in pending { continuation.resume(throwing: error) }
    }

    private func fail(_ id: Int, _ error: any Error) {
        state.withLock { $0.pending.removeValue(forKey: id) }?.resume(throwing: error)
    }

    /// Sends a command and waits for its result, at most `timeout` seconds.
    @discardableResult
    func send(
        _ method: String, _ params: JSONValue = [:], inSession: Bool = true, timeout: Double = 20
    ) async throws
        -> JSONValue
    {
        let id = state.withLock { state -> Int? in
            guard !state.closed else { return nil }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { throw Failure("The browser is closed; \(method) was not sent.") }
        var message: [String: JSONValue] = ["id": .int(id), "method": .string(method), "params": params]
        if inSession, let sessionID = session.withLock({ $0 }) { message["sessionId"] = .string(sessionID) }
        let bytes = Array(JSONValue.object(message).canonicalData) + [0]
        let timer = Task { [self] in
            try await Task.sleep(for: .seconds(timeout))
            fail(id, Failure("Chromium did not answer \(method) within \(timeout) s."))
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            state.withLock { $0.pending[id] = continuation }
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { write(output, $0.baseAddress, $0.count) }
                if written < 0, errno == EINTR { continue }
                if written <= 0 {
                    fail(id, Failure("Could not write to the DevTools pipe (errno \(errno))."))
                    return
                }
                offset += written
            }
        }
    }

    /// Evaluates JavaScript in the page (promises awaited) and returns its value.
    @discardableResult
    func evaluate(_ expression: String, timeout: Double = 20) async throws -> JSONValue {
        let result = try await send(
            "Runtime.evaluate", ["expression": .string(expression), "returnByValue": true, "awaitPromise": true],
            timeout: timeout)
        if let exception = result["exceptionDetails"] {
            throw Failure(
                "JavaScript failed: \(exception["exception"]?["description"]?.stringValue ?? exception.canonicalString)\n\(expression)"
            )
        }
        return result["result"]?["value"] ?? .null
    }

    /// Waits until a JavaScript condition is true.
    func waitFor(_ condition: String, timeout: Double = 15, _ what: String) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? await evaluate("Boolean(\(condition))", timeout: 5))?.boolValue == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure("Timed out after \(timeout) s waiting for \(what) (\(condition)) on \(try await location())")
    }

    func location() async throws -> String { try await evaluate("location.href").stringValue ?? "" }

    /// Marks the current document, so that ``waitForNewPage(_:)`` can tell when another one loaded.
    func markPage() async throws { try await evaluate("window.__rewindOldPage = true") }

    /// Waits until a document other than the marked one has loaded.
    func waitForNewPage(timeout: Double = 20, _ what: String) async throws {
        try await waitFor("!window.__rewindOldPage && document.readyState === 'complete'", timeout: timeout, what)
    }

    /// Opens a URL and waits until its page has loaded.
    func navigate(_ url: String) async throws {
        try await markPage()
        let result = try await send("Page.navigate", ["url": .string(url)])
        if let error = result["errorText"]?.stringValue, !error.isEmpty {
            throw Failure("Could not open \(url): \(error)")
        }
        try await waitForNewPage("\(url) to load")
    }

    /// The visible text of the elements matching a selector.
    func texts(_ selector: String) async throws -> [String] {
        let value = try await evaluate(
            "Array.from(document.querySelectorAll(\(JSONValue.string(selector).canonicalString))).map(e => e.innerText)"
        )
        return value.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// The visible text of the first element matching a selector, or `nil`.
    func text(_ selector: String) async throws -> String? {
        try await evaluate(
            "(function(){ const e = document.querySelector(\(JSONValue.string(selector).canonicalString)); return e ? e.innerText : null })()"
        ).stringValue
    }

    /// Saves a PNG of the whole page (up to 4000 pixels high).
    func screenshot(to url: URL) async throws {
        let height = min(
            4000, max(viewport.height, try await evaluate("document.documentElement.scrollHeight").intValue ?? 0))
        let result = try await send(
            "Page.captureScreenshot",
            [
                "format": "png", "captureBeyondViewport": true,
                "clip": ["x": 0, "y": 0, "width": .int(viewport.width), "height": .int(height), "scale": 1],
            ], timeout: 30)
        guard let base64 = result["data"]?.stringValue, let data = Data(base64Encoded: base64) else {
            throw Failure("Chromium returned no screenshot.")
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    /// Kills the browser, waits for it, and removes its profile.
    ///
    /// Safe to call twice.
    func shutDown() {
        let first = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return !state.stopped
        }
        guard first else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        Self.closeDescriptor(output)
        failAll(Failure("The browser was closed."))
        try? FileManager.default.removeItem(at: profile)
    }

    static func closeDescriptor(_ fd: Int32) {
        #if canImport(Glibc)
        _ = Glibc.close(fd)
        #else
        _ = Darwin.close(fd)
        #endif
    }
}
