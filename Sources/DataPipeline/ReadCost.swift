import HDF5

/// What an image dataset's chunk layout costs the loader, which reads one image at a time at random rows: HDF5
/// reads (and decompresses) whole chunks, so a chunk of c images costs c images' work per image used.
///
/// The factors are measured by benchmarks/chunk_read_cost.py (docs/DATA.md): 64x64 images in the page cache,
/// against one uncompressed image per chunk.
enum ReadCost {
    /// The warnings for an images dataset named `dataset` whose chunks hold `chunkRows` images (nil: contiguous)
    /// and pass `filters`; empty for the layout the loader reads fastest.
    static func warnings(dataset: String, chunkRows: Int?, filters: [Filter]) -> [String] {
        let rows = chunkRows ?? 1
        let compressors = filters.filter(\.compresses)
        let fix = "for full speed rewrite it uncompressed with one image per chunk (h5py: `chunks=(1, S, S, 3)`, no "
            + "compression), or convert the source images with `vqvae2 prepare`"
        if !compressors.isEmpty {
            let names = compressors.map(\.name).joined(separator: "+")
            let perChunk = rows == 1 ? "" : " with \(rows) images per chunk"
            let work = rows == 1 ? "decompresses its chunk" : "decompresses all \(rows) images of its chunk"
            return [
                "dataset '\(dataset)' is compressed (\(names))\(perChunk): every random image read \(work), about "
                    + "\(gzipFactor(rows))x slower than uncompressed one-image chunks (measured with gzip: 6x at 1 image "
                    + "per chunk, 78x at 16, 330x at 64); the loader's one reader thread may then hold training back; \(fix)"
            ]
        }
        guard rows > 1 else { return [] }
        return [
            "dataset '\(dataset)' holds \(rows) images per chunk: every random image read reads all \(rows) "
                + "(\(rows)x the bytes), about \(rawFactor(rows))x slower than one-image chunks (measured: 2.3x at 16 "
                + "per chunk, 6.3x at 64; more from a cold disk); \(fix)"
        ]
    }

    /// Gzip's measured cost grows with the images decompressed per read: 6x at one, about 5x per image beyond.
    static func gzipFactor(_ rows: Int) -> Int { max(6, 5 * rows) }

    /// An uncompressed chunk's measured cost: 1 + rows/12, rounded (2.3x at 16, 6.3x at 64).
    static func rawFactor(_ rows: Int) -> Int { Int((1 + Double(rows) / 12).rounded()) }
}
