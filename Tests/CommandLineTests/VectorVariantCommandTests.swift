import Foundation
import TestSupport
import XCTest

/// VQVAE2_VECTOR_VARIANT forces each variant the machine runs, and refuses one it lacks or a name that is none.
final class VectorVariantCommandTests: XCTestCase {
    private var vqvae2: String { TestEnvironment.product("vqvae2") }

    private func env(_ variant: String) throws -> ProcessResult {
        try TestEnvironment.run(
            [vqvae2, "env", "--gemm-size", "0"], environment: ["VQVAE2_VECTOR_VARIANT": variant], timeout: 60)
    }

    func testEachVariantIsForcedOrRefused() throws {
        var refused: [String] = []
        for variant in ["baseline", "avx2", "avx512"] {
            let result = try env(variant)
            if result.status == 0 {
                XCTAssertTrue(result.output.contains("  vector \(variant) (best "), result.output)
                XCTAssertTrue(result.output.contains("vector variant of a training job: \(variant) "), result.output)
            } else {
                XCTAssertTrue(result.output.contains("VQVAE2_VECTOR_VARIANT=\(variant), but this machine cannot run it: "), result.output)
                refused.append(variant)
            }
        }
        XCTAssertFalse(refused.contains("baseline"), "every machine runs the baseline")
        let unknown = try env("neon")
        XCTAssertNotEqual(unknown.status, 0, unknown.output)
        XCTAssertTrue(unknown.output.contains("VQVAE2_VECTOR_VARIANT=neon names no vector variant"), unknown.output)
        if !refused.isEmpty { throw XCTSkip("forced and checked all but \(refused.joined(separator: ", ")), which this machine lacks") }
    }
}
