import XCTest
@testable import Model
import Numerics

final class VQVAEConfigTests: XCTestCase {
    func testDefaultsAreThePaperSettings() throws {
        let config = VQVAEConfig()
        XCTAssertEqual(config.imageSize, 256)
        XCTAssertEqual(config.channels, 128)
        XCTAssertEqual(config.residualChannels, 64)
        XCTAssertEqual(config.residualBlocks, 2)
        XCTAssertEqual(config.codebookSize, 512)
        XCTAssertEqual(config.codeDim, 64)
        XCTAssertEqual(config.beta, 0.25)
        XCTAssertEqual(config.emaDecay, 0.99)
        XCTAssertEqual(config.emaEpsilon, 1e-5)
        XCTAssertNoThrow(try config.validate())
        XCTAssertNoThrow(try VQVAEConfig.small.validate())
    }

    func testImpossibleValuesNameTheirField() {
        func field(_ change: (inout VQVAEConfig) -> Void) -> String? {
            var config = VQVAEConfig.small
            change(&config)
            do {
                try config.validate()
                return nil
            } catch let error as VQVAEConfigError {
                XCTAssertTrue(error.description.contains(error.field))
                return error.field
            } catch {
                return "unexpected \(error)"
            }
        }
        XCTAssertEqual(field { $0.imageSize = 36 }, "imageSize")
        XCTAssertEqual(field { $0.imageSize = 0 }, "imageSize")
        XCTAssertEqual(field { $0.codebookSize = 0 }, "codebookSize")
        XCTAssertEqual(field { $0.codeDim = -1 }, "codeDim")
        XCTAssertEqual(field { $0.channels = 7 }, "channels")
        XCTAssertEqual(field { $0.residualChannels = 0 }, "residualChannels")
        XCTAssertEqual(field { $0.residualBlocks = -1 }, "residualBlocks")
        XCTAssertEqual(field { $0.emaDecay = 1 }, "emaDecay")
        XCTAssertEqual(field { $0.emaEpsilon = 0 }, "emaEpsilon")
        XCTAssertEqual(field { $0.beta = .nan }, "beta")
        XCTAssertEqual(field { $0.deadCodeThreshold = -1 }, "deadCodeThreshold")
        XCTAssertEqual(field { $0.restartInterval = 0 }, "restartInterval")
        XCTAssertNil(field { $0.residualBlocks = 0 })
    }

    func testModelConstructionRejectsAnInvalidConfig() {
        var config = VQVAEConfig.small
        config.imageSize = 20
        XCTAssertThrowsError(try VQVAE(ParameterStore(), config: config)) { error in
            XCTAssertEqual((error as? VQVAEConfigError)?.field, "imageSize")
        }
    }
}
