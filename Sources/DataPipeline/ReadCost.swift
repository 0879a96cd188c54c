import Foundation
import HDF5

/// What an image dataset's chunk layout costs the loader, whose one reader thread reads one image at a time at
/// random rows. HDF5 decompresses whole chunks, and reads an uncompressed chunk that fits its 1 MiB chunk cache
/// whole, so a chunk of c images costs c images' work per image used.
///
/// The rates are measured by benchmarks/chunk_read_cost.py (docs/DATA.md), files in the page cache: gzip
/// decompresses about 100 MB of pixels per second (125 at 64x64, 75 at 128x128); uncompressed one-image chunks
/// read at 26,000 (128x128) to 64,000 (64x64) images/s.
enum ReadCost {
    static let gzipBytesPerSecond = 100e6
    static let chunkCacheBytes = 1 << 20

    /// The warnings for an images dataset named `dataset` of `imageBytes` per image, whose chunks hold `chunkRows`
    /// images (nil: contiguous) and pass `filters`; empty for the layouts the loader reads at full speed.
    static func warnings(dataset: String, chunkRows: Int?, imageBytes: Int, filters: [Filter]) -> [String] {
        let rows = chunkRows ?? 1
        let chunk = "\(rows) images of \(imageBytes < 1024 ? "\(imageBytes) bytes" : "\(imageBytes / 1024) KiB")"
        let fix = "for full speed rewrite it uncompressed with one image per chunk (h5py: `chunks=(1, S, S, 3)`, no "
            + "compression), or convert the source images with `vqvae2 prepare`"
        let compressors = filters.filter(\.compresses)
        if !compressors.isEmpty {
            let names = compressors.map(\.name).joined(separator: "+")
            let work = rows == 1 ? "decompresses its chunk" : "decompresses its whole chunk (\(chunk))"
            let rate = gzipBytesPerSecond / Double(rows * imageBytes)
            return [
                "dataset '\(dataset)' is compressed (\(names))\(rows == 1 ? "" : " with \(rows) images per chunk"): "
                    + "every random image read \(work), so the loader's one reader thread gives about "
                    + "\(rounded(rate)) images/s (measured for gzip at ~100 MB/s decompressed), against tens of "
                    + "thousands for uncompressed one-image chunks; training waits for it when it needs more; \(fix)"
            ]
        }
        guard rows > 1, rows * imageBytes <= chunkCacheBytes else { return [] }
        return [
            "dataset '\(dataset)' holds \(rows) images per chunk: HDF5 reads a chunk this small (\(chunk)) whole, so "
                + "every random image read reads \(rows)x the bytes: little from the page cache (measured 2.3x slower "
                + "at 16 images of 12 KiB per chunk, 6x at 64), \(rows)x the disk reads otherwise; \(fix)"
        ]
    }

    /// Two significant digits: an estimate, not a measurement.
    static func rounded(_ rate: Double) -> Int {
        guard rate >= 100 else { return max(Int(rate.rounded()), 1) }
        let scale = pow(10, floor(log10(rate)) - 1)
        return Int((rate / scale).rounded() * scale)
    }
}
