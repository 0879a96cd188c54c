import DataPipeline
import Foundation
import ImageCodecs
import TestSupport

/// Builds small ILSVRC2012-layout folders for tests, with the awkward files ImageNet really has.
enum SourceTree {
    static func solid(_ r: UInt8, _ g: UInt8, _ b: UInt8, width: Int = 40, height: Int = 30) -> RGBImage {
        RGBImage(width: width, height: height, pixels: [UInt8](repeating: 0, count: width * height).flatMap { _ in [r, g, b] })
    }

    static func write(_ bytes: [UInt8], _ path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// train/ with classes a, b, c of `perClass` JPEGs each, and val/ with class folders; plus, in class b, a corrupt
    /// JPEG, a CMYK JPEG, a greyscale JPEG, a PNG and a text file.
    static func make(perClass: Int = 4, flatValidation: Bool = false) throws -> URL {
        let root = try TestEnvironment.temporaryDirectory("source")
        let wnids = ["n001", "n002", "n003"]
        for (c, wnid) in wnids.enumerated() {
            for i in 0..<perClass {
                let image = solid(UInt8(60 * c + i), 100, 200, width: 40 + i, height: 30)
                try write(try ImageCodecs.encodeJPEG(image), root.path + "/train/\(wnid)/\(wnid)_\(i).JPEG")
            }
        }
        let b = root.path + "/train/n002"
        let good = try ImageCodecs.encodeJPEG(solid(1, 2, 3))
        try write(Array(good.prefix(good.count / 3)) + [UInt8](repeating: 0x41, count: 64), b + "/corrupt.JPEG")
        var cmyk = [UInt8]()
        for _ in 0..<(24 * 24) { cmyk += [0, 255, 255, 255] }
        try write(try ImageCodecs.encodeJPEG(pixels: cmyk, width: 24, height: 24, components: 4), b + "/cmyk.JPEG")
        try write(
            try ImageCodecs.encodeJPEG(pixels: [UInt8](repeating: 90, count: 20 * 28), width: 20, height: 28, components: 1),
            b + "/grey.JPEG")
        let png = root.appendingPathComponent("tmp.png").path
        try ImageCodecs.writePNG(solid(9, 9, 9), to: png)
        try FileManager.default.moveItem(atPath: png, toPath: b + "/picture.png")
        try write(Array("not an image".utf8), b + "/notes.txt")
        try "n001 first class, one\nn002 second\nn003 third\n".write(
            toFile: root.path + "/LOC_synset_mapping.txt", atomically: true, encoding: .utf8)

        if flatValidation {
            var csv = "ImageId,PredictionString\n"
            for (c, wnid) in wnids.enumerated() {
                let id = "ILSVRC2012_val_0000000\(c + 1)"
                try write(try ImageCodecs.encodeJPEG(solid(UInt8(c), 0, 0)), root.path + "/val/\(id).JPEG")
                csv += "\(id),\(wnid) 1 2 3 4\n"
            }
            try csv.write(toFile: root.path + "/LOC_val_solution.csv", atomically: true, encoding: .utf8)
        } else {
            for (c, wnid) in wnids.enumerated() {
                for i in 0..<2 {
                    try write(try ImageCodecs.encodeJPEG(solid(UInt8(c), UInt8(i), 0)), root.path + "/val/\(wnid)/v\(i).JPEG")
                }
            }
        }
        return root
    }
}
