import Configuration
import XCTest

final class ConfigTests: XCTestCase {
    private let text = """
        # an experiment
        model:
          image_size: 64   # pixels
          name: "demo # not a comment"
          beta: 0.25

        train:
          steps: 1_000
          flip: true
          schedule: joint
        """

    func testValuesParseWithTypesAndDefaults() throws {
        let reader = ConfigReader(try ConfigDocument(text: text, path: "x.yaml"))
        let model = reader.section("model"), train = reader.section("train")
        XCTAssertEqual(try model.int("image_size", default: 256, check: Check.multiple(of: 8)), 64)
        XCTAssertEqual(try model.string("name", default: ""), "demo # not a comment")
        XCTAssertEqual(try model.float("beta", default: 1), 0.25)
        XCTAssertEqual(try model.int("channels", default: 128), 128, "absent keys take their default")
        XCTAssertEqual(try train.int("steps", default: 0), 1000)
        XCTAssertEqual(try train.bool("flip", default: false), true)
        XCTAssertEqual(try train.choice("schedule", default: "staged", from: ["joint", "staged"]), "joint")
        XCTAssertNoThrow(try reader.finish())
    }

    func testUnknownKeysAndSectionsAreErrorsNamingFileLineAndKey() throws {
        let reader = ConfigReader(try ConfigDocument(text: text, path: "x.yaml"))
        _ = try reader.section("model").int("image_size", default: 0)
        _ = try reader.section("train").int("steps", default: 0)
        XCTAssertThrowsError(try reader.finish()) { XCTAssertEqual("\($0)".prefix(35), "x.yaml:4: unknown key model.name (k") }

        let extra = ConfigReader(try ConfigDocument(text: "modle:\n  a: 1\n", path: "y.yaml"))
        _ = try extra.section("model").int("a", default: 0)
        XCTAssertThrowsError(try extra.finish()) { XCTAssertTrue("\($0)".hasPrefix("y.yaml:1: unknown section 'modle'"), "\($0)") }
    }

    func testWrongTypesAndImpossibleValuesNameTheKey() throws {
        let reader = ConfigReader(try ConfigDocument(text: "model:\n  image_size: 60\n  beta: lots\n  flip: yes\n", path: "z.yaml"))
        let model = reader.section("model")
        XCTAssertThrowsError(try model.int("image_size", default: 0, check: Check.multiple(of: 8))) {
            XCTAssertEqual("\($0)", "z.yaml:2: model.image_size = 60: must be a positive multiple of 8")
        }
        XCTAssertThrowsError(try model.float("beta", default: 0)) { XCTAssertEqual("\($0)", "z.yaml:3: model.beta: expected a number, found 'lots'") }
        XCTAssertThrowsError(try model.bool("flip", default: false)) { XCTAssertTrue("\($0)".contains("expected true or false")) }
    }

    func testMalformedFilesAreRejected() {
        let cases = [
            ("a: 1\n", "top-level 'a' must be a section"),
            ("  a: 1\n", "not inside a section"),
            ("s:\n  a 1\n", "expected 'key: value'"),
            ("s:\n  a:\n    b: 1\n", "nesting deeper than sections"),
            ("s:\n  a: 1\n  a: 2\n", "s.a is set twice"),
            ("s:\n\ta: 1\n", "tabs are not allowed"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try ConfigDocument(text: text, path: "m.yaml"), text) {
                XCTAssertTrue("\($0)".contains(message), "\(text): \($0)")
            }
        }
    }

    func testCommandLineOverridesReplaceFileValues() throws {
        var document = try ConfigDocument(text: text, path: "x.yaml")
        try document.override("train.steps=5")
        XCTAssertEqual(try ConfigReader(document).section("train").int("steps", default: 0), 5)
        XCTAssertThrowsError(try document.override("steps=5"))
    }
}
