import XCTest
final class EvaluationSmoke: XCTestCase { func testNothing() {} }
