import Foundation
import HDF5

/// What an image dataset's chunk layout costs the loader, whose one reader thread reads one image at a time at
/// random rows. HDF5 decompresses whole chunks, and reads an uncompressed chunk that fits its 1 MiB chunk cache
/// whole, so a chunk of c images costs c images' work per image used.
///
/// The estimates fit what benchmarks/chunk_read_cost.py measured (docs/DATA.md) within about 1.5x, files in the
/// page cache: a read costs about 15.6 us however small (64,000 images/s of 64x64 uncompressed), plus its bytes:
/// one image's at about 2.2 GB/s (26,500 images/s of 128x128), a whole uncompressed chunk's at about 6 GB/s (4.4
/// to 9.6 measured), a compressed chunk's at about 100 MB/s through gzip (125 MB/s at 64x64, 75 at 128x128).
enum ReadCost {
    static let secondsPerRead = 15.6e-6
    static let rawBytesPerSecond = 2.2e9
    static let cachedChunkBytesPerSecond = 6e9
    static let gzipBytesPerSecond = 100e6
    static let chunkCacheBytes = 1 << 20

    /// The warnings for an images dataset named `dataset` of `imageBytes` per image, whose chunks hold `chunkRows`
    /// images (nil: contiguous) and pass `filters`; empty for the layouts the loader reads at full speed.
    static func warnings(dataset: String, chunkRows: Int?, imageBytes: Int, filters: [Filter]) -> [String] {
        let rows = chunkRows ?? 1
        let chunk = "\(rows) images of \(imageBytes < 1024 ? "\(imageBytes) bytes" : "\(imageBytes / 1024) KiB")"
        let fastest = "about \(rounded(rate(bytes: imageBytes, perSecond: rawBytesPerSecond))) with uncompressed one-image chunks"
        let fix = "for full speed rewrite it uncompressed with one image per chunk (h5py: `chunks=(1, S, S, 3)`, no "
            + "compression), or convert the source images with `vqvae2 prepare`"
        let compressors = filters.filter(\.compresses)
        if !compressors.isEmpty {
            let names = compressors.map(\.name).joined(separator: "+")
            let work = rows == 1 ? "decompresses its chunk" : "decompresses its whole chunk (\(chunk))"
            let estimate = rounded(rate(bytes: rows * imageBytes, perSecond: gzipBytesPerSecond))
            return [
                "dataset '\(dataset)' is compressed (\(names))\(rows == 1 ? "" : " with \(rows) images per chunk"): "
                    + "every random image read \(work), so the loader's one reader thread gives about \(estimate) "
                    + "images/s, against \(fastest) (estimated from gzip's measured rate); training waits for it when "
                    + "it needs more; \(fix)"
            ]
        }
        guard rows > 1, rows * imageBytes <= chunkCacheBytes else { return [] }
        let estimate = rounded(rate(bytes: rows * imageBytes, perSecond: cachedChunkBytesPerSecond))
        return [
            "dataset '\(dataset)' holds \(rows) images per chunk: HDF5 reads a chunk this small (\(chunk)) whole, so "
                + "every random image read reads \(rows)x the bytes: about \(estimate) images/s from the page cache, "
                + "against \(fastest), and \(rows)x the disk reads from a cold disk; \(fix)"
        ]
    }

    /// Images per second when every read moves `bytes` at `perSecond`.
    static func rate(bytes: Int, perSecond: Double) -> Double { 1 / (secondsPerRead + Double(bytes) / perSecond) }

    /// Two significant digits: an estimate, not a measurement.
    static func rounded(_ rate: Double) -> Int {
        guard rate >= 100 else { return max(Int(rate.rounded()), 1) }
        let scale = pow(10, floor(log10(rate)) - 1)
        return Int((rate / scale).rounded() * scale)
    }
}
