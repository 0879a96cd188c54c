import DataPipeline
import Foundation
import Model
import Numerics

import Evaluation
import XCTest

/// A VQ-VAE and two priors small enough for a debug build, with codebooks initialised from `images`.
struct TinyModels {
    let vqvae: VQVAE
    let top: TopPrior
    let bottom: BottomPrior

    static let classes = 3

    init(initializingFrom images: Tensor) throws {
        var config = VQVAEConfig()
        config.imageSize = 16
        config.channels = 16
        config.residualChannels = 8
        config.residualBlocks = 1
        config.codebookSize = 32
        config.codeDim = 8
        vqvae = try VQVAE(ParameterStore(), config: config, seed: 3)
        vqvae.store.materialize(seed: 3)
        vqvae.initializeCodebooks(from: images)
        // Dropout is set so that a test would notice evaluation or sampling using it.
        let prior = PriorConfig(
            codebookSize: 32, classes: TinyModels.classes, channels: 16, layers: 2, firstKernel: 3, kernel: 3,
            attentionEvery: 0, heads: 2, dropout: 0.5, outputLayers: 2, conditioningLayers: 1,
            conditioningChannels: 16)
        let topStore = ParameterStore(), bottomStore = ParameterStore()
        top = TopPrior(topStore, name: "top", config: prior, height: 2, width: 2)
        bottom = BottomPrior(bottomStore, name: "bottom", config: prior, height: 4, width: 4)
        topStore.materialize(seed: 4)
        bottomStore.materialize(seed: 5)
    }

    func evaluator() -> Evaluator {
        Evaluator(vqvae: vqvae, topPrior: top, bottomPrior: bottom, classes: TinyModels.classes)
    }
}

/// Demo image `i` (class i % 3) as 8-bit pixels.
func demoPixels(_ i: Int, size: Int = 16) -> [UInt8] {
    DemoImages.draw(classIndex: i % TinyModels.classes, index: i, size: size, seed: 11).pixels
}

/// Images 0 ..< count as the loader would present them: p * 2/255 - 1.
func demoImages(_ count: Int, size: Int = 16) -> Tensor {
    let values = (0..<count).flatMap { demoPixels($0, size: size) }.map { Float($0) * (2 / 255) - 1 }
    return Tensor(shape: [count, size, size, 3], values: values)
}

func demoLabels(_ count: Int) -> [Int32] { (0..<count).map { Int32($0 % TinyModels.classes) } }

let demoClassNames = ["disc", "square", "horizontal stripes"]

/// An image shard of demo images 0 ..< count in `directory`, opened for reading.
func writeDemoShard(count: Int, in directory: URL) throws -> ShardSet {
    let classes = try demoClassNames.enumerated().map { index, name in
        try JSONDecoder().decode(
            ImageClass.self, from: Data(#"{"index":\#(index),"wnid":"d\#(index)","name":"\#(name)"}"#.utf8))
    }
    let path = directory.appendingPathComponent("heldout.h5").path
    let writer = try ImageShardWriter(path: path, imageSize: 16, classes: classes, source: "test")
    for i in 0..<count { try writer.append(pixels: demoPixels(i), label: i % TinyModels.classes) }
    _ = try writer.finish()
    return try ShardSet.images(paths: [path], imageSize: 16)
}

/// Asserts every figure of two reports agrees to `relative` (integers exactly).
func assertReportsClose(
    _ a: EvaluationReport, _ b: EvaluationReport, relative: Double, _ context: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    func close(_ x: Double, _ y: Double, _ name: String) {
        let ok = x == y || abs(x - y) <= relative * max(abs(x), abs(y))
        XCTAssertTrue(ok, "\(context): \(name) \(x) vs \(y)", file: file, line: line)
    }
    XCTAssertEqual(a.images, b.images, context, file: file, line: line)
    close(a.reconstruction, b.reconstruction, "reconstruction")
    close(a.reconstructionUnit, b.reconstructionUnit, "reconstructionUnit")
    close(a.psnr, b.psnr, "psnr")
    for (name, x, y) in [("top", a.top, b.top), ("bottom", a.bottom, b.bottom)] {
        XCTAssertEqual(x.used, y.used, "\(context): \(name) used", file: file, line: line)
        XCTAssertEqual(x.positions, y.positions, "\(context): \(name) positions", file: file, line: line)
        close(x.perplexity, y.perplexity, "\(name) perplexity")
        close(x.nats, y.nats, "\(name) nats")
    }
    XCTAssertEqual(a.perClass.map(\.images), b.perClass.map(\.images), context, file: file, line: line)
    for (x, y) in zip(a.perClass, b.perClass) {
        close(x.reconstruction, y.reconstruction, "class \(x.label) reconstruction")
        close(x.reconstructionUnit, y.reconstructionUnit, "class \(x.label) reconstructionUnit")
    }
}
