extension EncodedImage {
    /// The image summary of PNG bytes, its size and colour space read from the IHDR chunk (TensorBoard shows the
    /// bytes as they are; the size is what it lays out before decoding). `path` names the file in errors.
    package init(png bytes: [UInt8], path: String) throws {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count >= 26, bytes.starts(with: signature), Array(bytes[12..<16]) == Array("IHDR".utf8) else {
            throw EventFileError.io(path: path, message: "not a PNG file with an IHDR chunk first")
        }
        func bigEndian(_ at: Int) -> Int32 { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int32($1) } }
        // PNG colour types 0, 4, 2, 6 are TensorBoard's colour spaces 1 to 4; palette images (3) decode to RGB.
        let colorspace: Int32
        switch bytes[25] {
        case 0: colorspace = 1
        case 4: colorspace = 2
        case 6: colorspace = 4
        default: colorspace = 3
        }
        self.init(height: bigEndian(20), width: bigEndian(16), colorspace: colorspace, encoded: bytes)
    }
}
