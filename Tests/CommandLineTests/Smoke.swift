import XCTest
final class CommandLineTestsSmoke: XCTestCase { func testNothing() {} }
