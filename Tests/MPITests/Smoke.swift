import XCTest
final class MPITestsSmoke: XCTestCase { func testNothing() {} }
