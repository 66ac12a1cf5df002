import CZlib
import Foundation

/// zlib compression of payloads, used by stores for blobs.
public enum PayloadCompression {
    /// Compresses bytes with zlib (deflate with a zlib header).
    public static func compress(_ data: Data, level: Int32 = 6) throws -> Data {
        var destinationLength = compressBound(uLong(data.count))
        var output = Data(count: Int(destinationLength))
        let status = output.withUnsafeMutableBytes { outBuffer in
            data.withUnsafeBytes { inBuffer in
                compress2(
                    outBuffer.bindMemory(to: Bytef.self).baseAddress!, &destinationLength,
                    inBuffer.bindMemory(to: Bytef.self).baseAddress, uLong(data.count), level)
            }
        }
        guard status == Z_OK else {
            throw RewindError(.corruptPayload, "zlib could not compress a payload (status \(status)).")
        }
        output.count = Int(destinationLength)
        return output
    }

    /// Decompresses bytes produced by ``compress(_:level:)``.
    ///
    /// - Parameter expectedSize: the size of the original data, recorded next to the blob.
    public static func decompress(_ data: Data, expectedSize: Int) throws -> Data {
        var destinationLength = uLong(max(expectedSize, 1))
        var output = Data(count: Int(destinationLength))
        let status = output.withUnsafeMutableBytes { outBuffer in
            data.withUnsafeBytes { inBuffer in
                uncompress(
                    outBuffer.bindMemory(to: Bytef.self).baseAddress!, &destinationLength,
                    inBuffer.bindMemory(to: Bytef.self).baseAddress, uLong(data.count))
            }
        }
        guard status == Z_OK, Int(destinationLength) == expectedSize else {
            throw RewindError(
                .corruptPayload,
                "A stored blob could not be decompressed (zlib status \(status), \(destinationLength) of \(expectedSize) bytes). The store file may be damaged; run `rewind verify`."
            )
        }
        output.count = Int(destinationLength)
        return output
    }
}
