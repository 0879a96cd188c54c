import XCTest
final class NumericsTestsSmoke: XCTestCase { func testNothing() {} }
