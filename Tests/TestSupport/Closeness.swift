import XCTest

/// Norm-relative comparison used against golden values: |ours - ref| <= relative * max|ref| + absolute, per element.
package func assertClose(
    _ ours: [Float], _ reference: [Float], relative: Float = 1e-5, absolute: Float = 1e-6,
    _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) {
    guard ours.count == reference.count else {
        XCTFail("\(message()): \(ours.count) values vs \(reference.count) in the reference", file: file, line: line)
        return
    }
    let scale = reference.reduce(0) { max($0, abs($1)) }
    let tolerance = relative * scale + absolute
    var worst = 0
    var worstError: Float = 0
    for i in 0..<ours.count {
        let error = abs(ours[i] - reference[i])
        if !(error <= worstError) { worstError = error; worst = i }
    }
    if !(worstError <= tolerance) {
        XCTFail(
            "\(message()): element \(worst) is \(ours[worst]), reference \(reference[worst]) "
                + "(error \(worstError) > tolerance \(tolerance) = \(relative) * \(scale) + \(absolute))",
            file: file, line: line)
    }
}
