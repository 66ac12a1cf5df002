import Crypto
import Foundation

/// SHA-256 digests, as lowercase hexadecimal strings.
public enum ContentHash {
    /// The SHA-256 digest of some bytes.
    public static func sha256(_ data: some DataProtocol) -> String {
        hex(SHA256.hash(data: data))
    }

    /// The SHA-256 digest of the canonical encoding of a JSON value.
    public static func sha256(_ value: JSONValue) -> String {
        var bytes: [UInt8] = []
        value.write(into: &bytes)
        return sha256(bytes)
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let table = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in digest {
            out.append(table[Int(byte >> 4)])
            out.append(table[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
