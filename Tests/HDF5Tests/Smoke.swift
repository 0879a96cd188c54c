import XCTest
final class HDF5TestsSmoke: XCTestCase { func testNothing() {} }
