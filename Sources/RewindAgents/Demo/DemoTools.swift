import Foundation
import Rewind

extension DemoAgent {
    /// Current weather for a city, from deterministic fake data.
    public struct GetWeather: Tool {
        public struct Arguments: Decodable, Sendable {
            public var city: String
        }

        public struct Output: Codable, Sendable, Hashable {
            public var city: String
            public var temperatureC: Double
            public var conditions: String
            public var humidityPercent: Int
        }

        public let name = "get_weather"
        public let description = "Current weather for a city: temperature in °C, conditions and humidity."
        public var parametersSchema: JSONValue {
            [
                "type": "object",
                "properties": ["city": ["type": "string", "description": "City name, e.g. Paris"]],
                "required": ["city"],
                "additionalProperties": false,
            ]
        }

        public init() {}

        public func call(arguments: Arguments) async throws -> Output {
            let known: [String: (Double, String, Int)] = [
                "paris": (17, "light rain", 82), "tokyo": (22, "clear sky", 55), "london": (14, "overcast", 77),
                "new york": (19, "sunny", 48), "san francisco": (14, "fog", 88), "berlin": (15, "cloudy", 70),
            ]
            let key = arguments.city.trimmingCharacters(in: .whitespaces).lowercased()
            guard !key.isEmpty else { throw ToolError.message("city must not be empty") }
            if let (temperature, conditions, humidity) = known[key] {
                return Output(
                    city: arguments.city, temperatureC: temperature, conditions: conditions, humidityPercent: humidity)
            }
            let seed = key.unicodeScalars.reduce(0) { ($0 &* 31 &+ Int($1.value)) & 0xFFFF }
            let skies = ["clear sky", "partly cloudy", "cloudy", "light rain", "windy"]
            return Output(
                city: arguments.city, temperatureC: Double(5 + seed % 25), conditions: skies[seed % skies.count],
                humidityPercent: 40 + seed % 50)
        }
    }

    /// Web search, from deterministic fake results.
    public struct SearchWeb: Tool {
        public struct Arguments: Decodable, Sendable {
            public var query: String
        }

        public struct Result: Codable, Sendable, Hashable {
            public var title: String
            public var url: String
            public var snippet: String
        }

        public let name = "search_web"
        public let description = "Searches the web and returns the top results (title, url, snippet)."
        public var parametersSchema: JSONValue {
            [
                "type": "object",
                "properties": ["query": ["type": "string", "description": "What to search for"]],
                "required": ["query"],
                "additionalProperties": false,
            ]
        }

        public init() {}

        public func call(arguments: Arguments) async throws -> [Result] {
            let query = arguments.query.trimmingCharacters(in: .whitespaces)
            guard !query.isEmpty else { throw ToolError.message("query must not be empty") }
            let slug = query.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).joined(separator: "-")
            return [
                Result(
                    title: "\(query.capitalized): what you need to know", url: "https://news.example.com/\(slug)",
                    snippet: "A roundup of the latest on \(query), updated this morning."),
                Result(
                    title: "\(query.capitalized) — live updates", url: "https://live.example.org/\(slug)",
                    snippet: "Organisers expect record attendance; roads close from 7 am."),
            ]
        }
    }

    /// Unit conversion: temperature, distance and weight.
    public struct ConvertUnits: Tool {
        public struct Arguments: Decodable, Sendable {
            public var value: Double
            public var from: String
            public var to: String
        }

        public struct Output: Codable, Sendable, Hashable {
            public var value: Double
            public var unit: String
        }

        public let name = "convert_units"
        public let description =
            "Converts a value between units: celsius/fahrenheit, km/miles, kg/lb."
        public var parametersSchema: JSONValue {
            [
                "type": "object",
                "properties": [
                    "value": ["type": "number"],
                    "from": ["type": "string", "enum": ["celsius", "fahrenheit", "km", "miles", "kg", "lb"]],
                    "to": ["type": "string", "enum": ["celsius", "fahrenheit", "km", "miles", "kg", "lb"]],
                ],
                "required": ["value", "from", "to"],
                "additionalProperties": false,
            ]
        }

        public init() {}

        public func call(arguments: Arguments) async throws -> Output {
            let value = arguments.value
            let result: Double
            switch (arguments.from.lowercased(), arguments.to.lowercased()) {
            case ("celsius", "fahrenheit"): result = value * 9 / 5 + 32
            case ("fahrenheit", "celsius"): result = (value - 32) * 5 / 9
            case ("km", "miles"): result = value / 1.609344
            case ("miles", "km"): result = value * 1.609344
            case ("kg", "lb"): result = value * 2.20462262
            case ("lb", "kg"): result = value / 2.20462262
            case (let from, let to) where from == to: result = value
            case (let from, let to): throw ToolError.message("cannot convert \(from) to \(to)")
            }
            return Output(value: (result * 100).rounded() / 100, unit: arguments.to.lowercased())
        }
    }
}
