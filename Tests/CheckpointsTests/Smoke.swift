import XCTest
final class CheckpointsSmoke: XCTestCase { func testNothing() {} }
