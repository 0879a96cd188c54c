/// Adds one micro-batch's contribution to a flat running sum (gradients, EMA statistics) so that the contribution
/// is first summed from zero and only then added: micro-batches a then b give exactly a + b, the bits a two-rank
/// all-reduce of a and b gives. (Accumulating b straight onto a would round differently.)
package final class MicroBatchSum {
    private var carry: UnsafeMutableBufferPointer<Float>

    package init(capacity: Int = 0) {
        carry = .allocate(capacity: max(capacity, 1))
    }

    deinit { carry.deallocate() }

    /// Runs `body`, which adds one micro-batch's contribution into `total[0..<count]`, so that the contribution is
    /// summed from zero and then added to what `total` held before. `totalIsZero` (the step's first micro-batch,
    /// after the gradients were zeroed) skips the carry: there is nothing to add, and its buffer stays untouched
    /// (so it never becomes resident) while every step has one micro-batch.
    package func add<Result>(
        into total: UnsafeMutablePointer<Float>, count: Int, totalIsZero: Bool = false, _ body: () throws -> Result
    ) rethrows -> Result {
        if totalIsZero { return try body() }
        if carry.count < count {
            carry.deallocate()
            carry = .allocate(capacity: count)
        }
        let saved = carry.baseAddress!
        saved.update(from: total, count: count)
        total.update(repeating: 0, count: count)
        let result = try body()
        for i in 0..<count { total[i] += saved[i] }
        return result
    }
}
