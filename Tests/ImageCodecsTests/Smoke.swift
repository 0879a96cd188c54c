import XCTest
final class ImageCodecsTestsSmoke: XCTestCase { func testNothing() {} }
