import Foundation
import GRDB
import GRDBSQLite

/// A value bound to a statement parameter without going through GRDB's argument conversion
/// (the journal's insert is the store's hottest statement).
enum SQLValue: Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)

    init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
    init(_ value: Double?) { self = value.map { .real($0) } ?? .null }
    init(_ value: String?) { self = value.map { .text($0) } ?? .null }
    init(_ value: Data?) { self = value.map { .blob($0) } ?? .null }

    /// The value for GRDB's statement arguments.
    var databaseValue: (any DatabaseValueConvertible)? {
        switch self {
        case .null: return nil
        case .integer(let number): return number
        case .real(let number): return number
        case .text(let text): return text
        case .blob(let data): return data
        }
    }

    var int: Int? {
        if case .integer(let number) = self { return Int(number) }
        return nil
    }

    var string: String? {
        if case .text(let text) = self { return text }
        return nil
    }

    /// A REAL column's value (SQLite may hand back a whole number as an integer).
    var double: Double? {
        switch self {
        case .real(let number): return number
        case .integer(let number): return Double(number)
        default: return nil
        }
    }

    var data: Data? {
        switch self {
        case .blob(let data): return data
        case .text(let text): return Data(text.utf8)
        default: return nil
        }
    }

    /// A GRDB value, for rows read through GRDB.
    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let number): self = .integer(number)
        case .double(let number): self = .real(number)
        case .string(let text): self = .text(text)
        case .blob(let data): self = .blob(data)
        }
    }
}

/// Binding and stepping of a GRDB-prepared statement through the SQLite C API.
enum RawStatement {
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Resets `statement`, binds `values` to its parameters 1…n, steps it to completion, and
    /// returns the SQLite result code (`SQLITE_DONE` on success).
    static func execute(_ statement: Statement, _ values: [SQLValue]) -> Int32 {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        bind(values, to: handle)
        var code = sqlite3_step(handle)
        while code == SQLITE_ROW { code = sqlite3_step(handle) }
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        return code
    }

    /// Binds `values` to the parameters 1…n of a reset statement.
    private static func bind(_ values: [SQLValue], to handle: OpaquePointer) {
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            switch value {
            case .null: sqlite3_bind_null(handle, position)
            case .integer(let number): sqlite3_bind_int64(handle, position, number)
            case .real(let number): sqlite3_bind_double(handle, position, number)
            case .text(let text): sqlite3_bind_text(handle, position, text, -1, transient)
            case .blob(let data):
                if data.isEmpty {
                    sqlite3_bind_zeroblob(handle, position, 0)
                } else {
                    data.withUnsafeBytes { bytes in
                        _ = sqlite3_bind_blob(handle, position, bytes.baseAddress, Int32(bytes.count), transient)
                    }
                }
            }
        }
    }

    /// Binds `values`, steps once and returns the first row's columns (`nil` when there is no
    /// row), or throws the step's error.
    static func firstRow(_ statement: Statement, _ values: [SQLValue], _ db: Database) throws -> [SQLValue]? {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        bind(values, to: handle)
        let code = sqlite3_step(handle)
        if code == SQLITE_DONE { return nil }
        guard code == SQLITE_ROW else { throw error(code, db, statement) }
        return (0..<sqlite3_column_count(handle)).map { column in
            switch sqlite3_column_type(handle, column) {
            case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, column))
            case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, column))
            case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(handle, column)))
            case SQLITE_NULL: return .null
            default:
                let count = Int(sqlite3_column_bytes(handle, column))
                guard count > 0, let bytes = sqlite3_column_blob(handle, column) else { return .blob(Data()) }
                return .blob(Data(bytes: bytes, count: count))
            }
        }
    }

    /// The error for a failed step.
    static func error(_ code: Int32, _ db: Database, _ statement: Statement) -> DatabaseError {
        let message = db.sqliteConnection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
    }

    /// Whether a result code is a constraint violation (a duplicate key).
    static func isConstraint(_ code: Int32) -> Bool { code & 0xFF == SQLITE_CONSTRAINT }
}
