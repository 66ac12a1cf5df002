import Foundation
import Rewind
import RewindTestSupport
import Testing

/// `rewind` exports spans and metrics over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
@Suite("OpenTelemetry export from the CLI", .serialized)
struct OpenTelemetryExportTests {
    let rewind: RewindExecutable

    init() throws {
        rewind = try RewindExecutable.locate()
    }

    /// Every span in OTLP/JSON export bodies: name and string/int attributes.
    static func spans(in bodies: [Data]) throws -> [(name: String, attributes: [String: JSONValue])] {
        var spans: [(String, [String: JSONValue])] = []
        for body in bodies {
            let json = try JSONValue(parsing: body)
            for resource in json["resourceSpans"]?.arrayValue ?? [] {
                for scope in resource["scopeSpans"]?.arrayValue ?? [] {
                    for span in scope["spans"]?.arrayValue ?? [] {
                        var attributes: [String: JSONValue] = [:]
                        for attribute in span["attributes"]?.arrayValue ?? [] {
                            guard let key = attribute["key"]?.stringValue, let value = attribute["value"] else {
                                continue
                            }
                            attributes[key] = value["stringValue"] ?? value["intValue"] ?? value["boolValue"] ?? value
                        }
                        spans.append((span["name"]?.stringValue ?? "", attributes))
                    }
                }
            }
        }
        return spans
    }

    @Test func theDemoExportsItsTraceAndMetricsToACollector() async throws {
        let collector = try await ModelServer.start()
        defer { Task { await collector.shutdown() } }
        let directory = try TemporaryDirectory()
        let environment = [
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlpEndpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
            "OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "ANTHROPIC_API_KEY": "",
        ]
        let demo = try await rewind.run(
            ["demo", "--delay", "0", "--store", directory.path("otel.sqlite"), "--id", "otel-1"], in: directory.url,
            environment: environment)
        #expect(demo.status == 0, "\(demo.stderr)")

        let traces = collector.otlpExports.filter { $0.path.hasPrefix("/v1/traces") }.map(\.body)
        #expect(!traces.isEmpty, "spans were exported before the process exited")
        let spans = try Self.spans(in: traces)
        let names = spans.map(\.name)
        #expect(names.contains("run demo-agent"))
        #expect(names.filter { $0 == "chat scripted" }.count == 4)
        #expect(names.contains("execute_tool get_weather"))
        let chat = try #require(spans.first { $0.name == "chat scripted" })
        #expect(chat.attributes["gen_ai.operation.name"] == "chat")
        #expect(chat.attributes["gen_ai.provider.name"] == "scripted")
        #expect(chat.attributes["rewind.run_id"] == "otel-1")
        #expect(chat.attributes["gen_ai.usage.input_tokens"] != nil)

        let metrics = collector.otlpExports.filter { $0.path.hasPrefix("/v1/metrics") }.map(\.body)
        let text = metrics.map { String(decoding: $0, as: UTF8.self) }.joined()
        #expect(text.contains("rewind_entries_written_total"), "metrics were exported")
        #expect(text.contains("rewind_model_tokens_total"))
    }

    @Test func otelSDKDisabledTurnsTheExportOff() async throws {
        let collector = try await ModelServer.start()
        defer { Task { await collector.shutdown() } }
        let directory = try TemporaryDirectory()
        let demo = try await rewind.run(
            ["demo", "--delay", "0", "--store", directory.path("plain.sqlite")], in: directory.url,
            environment: [
                "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlpEndpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
                "OTEL_SDK_DISABLED": "true", "OPENAI_API_KEY": "", "OPENAI_BASE_URL": "",
            ])
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect(collector.otlpExports.isEmpty)
    }
}
