/// Where each held-out sum lives in the flat buffer that `Evaluator` fills and ranks all-reduce (by summing).
///
/// Every entry is a sum over images, so the buffer of the whole split is the element-wise sum of the buffers of
/// any partition of it: ranks add their buffers and every image counts once. The layout, in Doubles:
///
///     0  squared error of the reconstruction on [-1, 1], summed over pixel values
///     1  squared error on [0, 1], the reconstruction clamped to [0, 1] as a picture of it would show
///     2  pixel values (N * H * W * C)
///     3  images
///     4  top prior NLL in nats, summed over code positions      5  top code positions
///     6  bottom prior NLL in nats, summed over code positions   7  bottom code positions
///     8 ..< 8 + Kt             n_i: how often each top code was chosen
///     then Kb entries          n_i of the bottom codes
///     then per class c         [squared error [-1, 1], squared error [0, 1], pixel values, images]
package struct EvaluationLayout: Sendable, Equatable {
    package let topCodes: Int
    package let bottomCodes: Int
    package let classes: Int

    package init(topCodes: Int, bottomCodes: Int, classes: Int) {
        precondition(
            topCodes > 0 && bottomCodes > 0 && classes > 0,
            "layout of \(topCodes) top codes, \(bottomCodes) bottom codes and \(classes) classes")
        self.topCodes = topCodes
        self.bottomCodes = bottomCodes
        self.classes = classes
    }

    package static let squaredError = 0
    package static let squaredErrorUnit = 1
    package static let values = 2
    package static let images = 3
    package static let topNats = 4
    package static let topPositions = 5
    package static let bottomNats = 6
    package static let bottomPositions = 7
    /// Entries per class, in the order of the global entries 0 ..< 4.
    package static let perClass = 4

    /// Where the top code counts start.
    package var topCounts: Int { 8 }
    /// Where the bottom code counts start.
    package var bottomCounts: Int { topCounts + topCodes }
    /// Where class `label`'s entries start.
    package func classOffset(_ label: Int) -> Int { bottomCounts + bottomCodes + label * EvaluationLayout.perClass }
    /// Doubles in the buffer.
    package var count: Int { classOffset(classes) }
}
