import Numerics
import XCTest
@testable import Model

final class VQVAEShapeTests: XCTestCase {
    private func checkShapes(_ config: VQVAEConfig, batch: Int) throws {
        let model = try makeModel(config)
        let s = config.imageSize
        let images = randomTensor([batch, s, s, 3], seed: 3)
        XCTAssertEqual(model.quantizerInput(for: images, level: .top).shape, [batch, s / 8, s / 8, config.codeDim])
        model.initializeCodebooks(from: images)
        XCTAssertEqual(model.lastQuantizerInput(.bottom).shape, [batch, s / 4, s / 4, config.codeDim])
        let losses = model.forward(images, training: true)
        XCTAssertEqual(model.reconstruction.shape, [batch, s, s, 3])
        XCTAssertTrue(losses.total.isFinite)
        model.store.zeroGradients()
        XCTAssertEqual(model.backward(inputGradient: true)?.shape, [batch, s, s, 3])
        let codes = model.encode(images)
        XCTAssertEqual(codes.top.count, batch * (s / 8) * (s / 8))
        XCTAssertEqual(codes.bottom.count, batch * (s / 4) * (s / 4))
        XCTAssertTrue((codes.top + codes.bottom).allSatisfy { $0 >= 0 && Int($0) < config.codebookSize })
        XCTAssertEqual(model.decode(top: codes.top, bottom: codes.bottom).shape, [batch, s, s, 3])
    }

    func testShapesAt32And64Pixels() throws {
        var config = VQVAEConfig.small
        try checkShapes(config, batch: 2)
        config.imageSize = 64
        try checkShapes(config, batch: 2)
    }

    func testShapesAt256PixelsWithTinyChannels() throws {
        try checkShapes(tinyConfig(imageSize: 256), batch: 1)
    }

    /// The popular PyTorch port's count for C=128, residual 32, K=512, D=64; codebooks are EMA state, not parameters.
    func testTrainableParameterCount() throws {
        var config = VQVAEConfig()
        config.residualChannels = 32
        let model = try VQVAE(ParameterStore(), config: config)
        XCTAssertEqual(model.store.count, 1_388_867)
        XCTAssertNotNil(model.store.parameter(named: "encoder.bottom.conv1.weight"))
        XCTAssertNotNil(model.store.parameter(named: "upsample.top.weight"))
    }

    func testDecodingTheCodesOfTheLastForwardReproducesItsReconstruction() throws {
        let model = try makeModel(VQVAEConfig.small)
        let images = shapeImages(count: 2, size: 32)
        model.initializeCodebooks(from: images)
        _ = model.forward(images, training: false)
        let reconstruction = model.reconstruction.array
        let codes = model.encode(images)
        XCTAssertEqual(model.decode(top: codes.top, bottom: codes.bottom).array, reconstruction)
    }
}
