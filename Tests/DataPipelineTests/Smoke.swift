import XCTest
final class DataPipelineSmoke: XCTestCase { func testNothing() {} }
