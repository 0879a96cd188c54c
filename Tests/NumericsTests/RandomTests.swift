import XCTest
@testable import Numerics

final class RandomTests: XCTestCase {
    /// Random123's known answer for Philox4x32-10 with counter and key zero (kat_vectors).
    func testPhiloxMatchesTheReferenceKnownAnswer() {
        let b = CounterRandom(seed: 0, stream: 0).block(0)
        XCTAssertEqual([b.0, b.1, b.2, b.3], [0x6627_E8D5, 0xE169_C58D, 0xBC57_AC4C, 0x9B00_DBD8])
    }

    /// Eight blocks at a time are the same words as one block at a time, also across a carry into the high word.
    func testEightBlocksAtOnceEqualOneAtATime() {
        let random = CounterRandom(seed: 0x1234_5678_9ABC, keys: [3, 5, 8])
        for first: UInt64 in [0, 1, 77, 0xFFFF_FFFC, 0x1_0000_0000, 0xFFFF_FFFF_FFFF_FFF0] {
            let lanes = random.blocks(first)
            for b in 0..<8 {
                let one = random.block(first &+ UInt64(b))
                let words = [lanes.0[b], lanes.1[b], lanes.2[b], lanes.3[b]]
                XCTAssertEqual(words, [one.0, one.1, one.2, one.3], "block \(first) + \(b)")
            }
        }
    }
}
