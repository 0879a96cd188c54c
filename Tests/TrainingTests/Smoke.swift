import XCTest
final class TrainingSmoke: XCTestCase { func testNothing() {} }
