import XCTest
final class ModelSmoke: XCTestCase { func testNothing() {} }
