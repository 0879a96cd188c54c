import Numerics
import XCTest

/// Where a tensor's buffer comes from: malloc by default, the kernel for large buffers once a run asks for it.
final class TensorBufferTests: XCTestCase {
    private let large = Tensor.mappedBytes / MemoryLayout<Float>.stride

    override func tearDown() {
        Tensor.mapLargeBuffers(false)
        super.tearDown()
    }

    func testLargeBuffersComeFromMallocUnlessMappingIsOn() {
        Tensor.mapLargeBuffers(false)
        XCTAssertFalse(Tensor(shape: [large]).bufferIsMapped)
        Tensor.mapLargeBuffers(true)
        XCTAssertTrue(Tensor(shape: [large]).bufferIsMapped)
        XCTAssertFalse(Tensor(shape: [large - 1]).bufferIsMapped, "below the threshold the heap serves")
    }

    /// A buffer is handed back the way it was taken, whatever the setting is by then.
    func testBuffersSurviveTheSettingChangingUnderThem() {
        Tensor.mapLargeBuffers(true)
        let mapped = Tensor(shape: [large])
        Tensor.mapLargeBuffers(false)
        let heap = Tensor(shape: [large])
        mapped.data[large - 1] = 3
        heap.data[large - 1] = 4
        XCTAssertTrue(mapped.bufferIsMapped)
        XCTAssertFalse(heap.bufferIsMapped)

        mapped.resize([2 * large])
        XCTAssertFalse(mapped.bufferIsMapped, "reallocated under the new setting")
        mapped.release()
        Tensor.mapLargeBuffers(true)
        heap.resize([2 * large])
        XCTAssertTrue(heap.bufferIsMapped)
        heap.zero()
        XCTAssertEqual(heap.data[2 * large - 1], 0)
        heap.release()
        XCTAssertFalse(heap.bufferIsMapped, "a released tensor holds a small heap buffer")
    }
}
