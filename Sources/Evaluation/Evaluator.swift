import DataPipeline
import Model
import Numerics

/// Held-out evaluation of one rank's images: reconstruction error, codebook use and prior NLL, kept as sums in the
/// flat buffer `EvaluationLayout` describes so that a caller can all-reduce them across ranks (sum) before
/// `EvaluationReport(sums:layout:classNames:)` turns them into the figures.
///
/// Dropout is off and no training state moves: the VQ-VAE runs `forward(_:training: false)` and the priors score
/// the code maps that same forward chose (what `encode` returns), so the priors are judged on the held-out codes
/// of this very checkpoint. The runs use the models' layer-owned buffers: do not evaluate between a training
/// forward and its backward.
///
/// Each image's squared errors are summed on their own (in Double) before joining the totals, so splitting the
/// split over ranks or batches changes only the order of the final additions; the models' fp32 outputs for an
/// image can still differ by rounding if OpenBLAS picks other kernels for another batch size.
package final class Evaluator {
    package let vqvae: VQVAE
    package let topPrior: TopPrior
    package let bottomPrior: BottomPrior
    package let layout: EvaluationLayout
    /// This rank's sums since construction or `reset()`, laid out as `layout` says.
    package private(set) var sums: [Double]

    package init(vqvae: VQVAE, topPrior: TopPrior, bottomPrior: BottomPrior, classes: Int) {
        let side = vqvae.config.imageSize
        precondition(
            topPrior.height == side / 8 && topPrior.width == side / 8 && bottomPrior.height == side / 4
                && bottomPrior.width == side / 4,
            "priors over \(topPrior.height)x\(topPrior.width) and \(bottomPrior.height)x\(bottomPrior.width) maps "
                + "do not fit \(side)-pixel images")
        precondition(
            topPrior.config.codebookSize == vqvae.config.codebookSize
                && bottomPrior.config.codebookSize == vqvae.config.codebookSize,
            "priors over \(topPrior.config.codebookSize)/\(bottomPrior.config.codebookSize) codes, "
                + "VQ-VAE has \(vqvae.config.codebookSize)")
        self.vqvae = vqvae
        self.topPrior = topPrior
        self.bottomPrior = bottomPrior
        layout = EvaluationLayout(
            topCodes: vqvae.config.codebookSize, bottomCodes: vqvae.config.codebookSize, classes: classes)
        sums = [Double](repeating: 0, count: layout.count)
    }

    /// Clears the sums for another pass.
    package func reset() {
        for i in 0..<sums.count { sums[i] = 0 }
    }

    /// Adds every batch `loader` yields (an `.evaluation` schedule ends after this rank's part).
    package func accumulate(_ loader: BatchLoader) throws {
        while let batch = try loader.next() { accumulate(images: batch.images, labels: batch.labels) }
    }

    /// Adds images [N, S, S, C] in [-1, 1] with their class labels.
    package func accumulate(images: Tensor, labels: [Int32]) {
        let n = images.n
        precondition(labels.count == n, "\(labels.count) labels for \(n) images")
        for label in labels {
            precondition(label >= 0 && Int(label) < layout.classes, "label \(label) outside 0..<\(layout.classes)")
        }
        _ = vqvae.forward(images, training: false)
        addReconstructionErrors(images, vqvae.reconstruction, labels: labels)
        let topCodes = vqvae.top.indices, bottomCodes = vqvae.bottom.indices
        addCounts(topCodes, at: layout.topCounts)
        addCounts(bottomCodes, at: layout.bottomCounts)
        let topNLL = topPrior.negativeLogLikelihood(codes: topCodes, labels: labels, batch: n)
        let bottomNLL = bottomPrior.negativeLogLikelihood(
            codes: bottomCodes, topCodes: topCodes, labels: labels, batch: n)
        sums[EvaluationLayout.topNats] += topNLL.sum
        sums[EvaluationLayout.topPositions] += Double(topNLL.count)
        sums[EvaluationLayout.bottomNats] += bottomNLL.sum
        sums[EvaluationLayout.bottomPositions] += Double(bottomNLL.count)
    }

    private func addReconstructionErrors(_ images: Tensor, _ reconstruction: Tensor, labels: [Int32]) {
        let perImage = images.count / images.n
        let x = images.data, y = reconstruction.data
        for i in 0..<images.n {
            var squared = 0.0, squaredUnit = 0.0
            for j in (i * perImage)..<((i + 1) * perImage) {
                let e = Double(y[j]) - Double(x[j])
                squared += e * e
                let shown = min(max((Double(y[j]) + 1) / 2, 0), 1)
                let u = shown - (Double(x[j]) + 1) / 2
                squaredUnit += u * u
            }
            for offset in [0, layout.classOffset(Int(labels[i]))] {
                sums[offset + EvaluationLayout.squaredError] += squared
                sums[offset + EvaluationLayout.squaredErrorUnit] += squaredUnit
                sums[offset + EvaluationLayout.values] += Double(perImage)
                sums[offset + EvaluationLayout.images] += 1
            }
        }
    }

    private func addCounts(_ codes: [Int32], at offset: Int) {
        for code in codes { sums[offset + Int(code)] += 1 }
    }
}
