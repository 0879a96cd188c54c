import Configuration
import Coordination
import DataPipeline
import Foundation
import HDF5
import MPI
import Model
import Numerics
import TestSupport
import Training
import XCTest

/// The assembled system against PyTorch, in the manner of llm.c's test_gpt2: a tiny VQ-VAE-2 and both priors,
/// with the reference's weights, run two joint training steps through the real `TrainingStep`, and every loss,
/// code and state tensor is compared with what Tests/Golden/gen_whole_model.py recorded after the same steps.
///
/// Per-layer fixtures check each operation; this checks how they are put together: the order of the losses, the
/// straight-through estimator, Adam, the EMA update after it, the priors trained on the batch's codes, and the class
/// terms of both priors. Tolerances: losses within 1e-5 relative; codes equal except at near ties (the reference's
/// two nearest distances within 1e-5 relative, allowed on at most 0.5% of positions); every tensor's sum, norm and
/// leading values within 1e-4 of that tensor's norm.
///
/// That it can fail was shown by hand (none of these breaks is committed); each made the test fail:
/// - the horizontal class term's gradient dropped (`ClassBias.accumulateGradient` for `hclass` skipped in
///   GatedPixelCNNLayer.backward): at step 1 exactly the six `hclass` tables of both priors (gradient, Adam
///   moments, parameter), at step 2 the prior losses and every prior tensor;
/// - the commitment term left out of the straight-through gradient (`beta = 0` in VQVAE.backward): at step 1 the
///   gradients of the 42 tensors upstream of a quantiser, at step 2 the commitment losses, 52 codes and nearly
///   everything else;
/// - the EMA update skipped (an early return in EMAQuantizer.applyUpdate): at step 1 five of the six `ema/`
///   tensors, at step 2 eleven codes and most tensors.
final class WholeModelGoldenTests: XCTestCase {
    private static let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/Golden/gen_whole_model.py")
    private static let fixturePath = TestEnvironment.packageRoot
        .appendingPathComponent("Tests/Golden/fixtures/whole_model.h5").path

    func testTwoJointTrainingStepsMatchPyTorch() throws {
        let fixture = try File(path: Self.fixturePath, mode: .readOnly)
        let root = fixture.root
        let document = try ConfigDocument(text: try root.stringAttribute("config"), path: Self.fixturePath + ":config")
        let config = try ExperimentConfig.parse(document)
        let replica = try Replica(config: config, classes: Int(try root.attribute("classes", as: Int32.self)[0]))
        try loadParameters(from: root, into: replica)

        let images = try root.openDataset("inputs/images")
        let labels = try root.openDataset("inputs/labels").read(as: Int32.self)
        let batch = Batch(
            images: Tensor(shape: images.shape, values: try images.read(as: Float.self)), labels: labels,
            firstSample: 0)
        let coordinator = Coordinator(SingleRank())
        let step = TrainingStep(
            replica: replica, coordinator: coordinator,
            reducer: GradientReducer(collective: coordinator.collective, stores: replica.stores.all))

        for s in 1...2 {
            let metrics = try step.run(batch)
            let recorded = try root.openGroup("step\(s)")
            try compareLosses(metrics, with: try recorded.openDataset("losses").read(as: Double.self), step: s)
            try compareCodes(replica, with: recorded, step: s)
            try compareTensors(replica, with: try recorded.openDataset("summaries"), step: s)
        }
    }

    /// The fixture records the SHA-256 of the script that wrote it: a script changed without regenerating the
    /// fixture fails here, not as a puzzling mismatch.
    func testTheFixtureWasWrittenByTheCommittedScript() throws {
        let root = try File(path: Self.fixturePath, mode: .readOnly).root
        let result = try TestEnvironment.run(["/usr/bin/sha256sum", Self.script.path])
        XCTAssertEqual(result.status, 0, result.output)
        let hash = String(result.output.prefix(64)), command = try root.stringAttribute("command")
        XCTAssertEqual(
            try root.stringAttribute("script_sha256"), hash,
            "\(Self.fixturePath) was not written by the committed script; regenerate it: \(command)")
        print("whole-model fixture: torch \(try root.stringAttribute("torch_version")), script sha256 \(hash.prefix(12))")
    }

    // MARK: Loading

    /// Sets every parameter of every part from parameters/<part>/<name>, and checks that the fixture holds exactly
    /// our parameters, with our shapes.
    private func loadParameters(from root: Group, into replica: Replica) throws {
        for part in ModelPart.allCases {
            let store = replica.stores[part]
            let group = try root.openGroup("parameters/\(part.name)")
            let theirs = Set(try group.childNames()), ours = Set(store.parameters.map(\.name))
            XCTAssertEqual(theirs.subtracting(ours).sorted(), [], "\(part.name): in the fixture, not in our model")
            XCTAssertEqual(ours.subtracting(theirs).sorted(), [], "\(part.name): in our model, not in the fixture")
            for parameter in store.parameters where theirs.contains(parameter.name) {
                let dataset = try group.openDataset(parameter.name)
                guard dataset.shape == parameter.shape else {
                    XCTFail("\(part.name)/\(parameter.name): fixture shape \(dataset.shape), ours \(parameter.shape)")
                    continue
                }
                let values = try dataset.read(as: Float.self)
                store.value(parameter).update(from: values, count: values.count)
            }
        }
    }

    // MARK: Comparisons

    private func compareLosses(_ metrics: StepMetrics, with reference: [Double], step: Int) throws {
        let names = ["reconstruction", "commitment top", "commitment bottom", "top prior nats", "bottom prior nats"]
        let ours = [
            metrics.reconstruction, metrics.commitmentTop, metrics.commitmentBottom, metrics.topNats,
            metrics.bottomNats,
        ]
        XCTAssertEqual(reference.count, ours.count, "step \(step): loss count")
        let largest = zip(ours, reference).map { abs($0 - $1) / abs($1) }.max() ?? 0
        print("step \(step): losses \(ours.map { String(format: "%.6f", $0) }.joined(separator: " ")); largest relative error \(largest)")
        for (name, (mine, theirs)) in zip(names, zip(ours, reference)) {
            XCTAssertLessThanOrEqual(
                abs(mine - theirs), 1e-5 * abs(theirs),
                "step \(step) \(name): ours \(mine), PyTorch \(theirs) (relative \(abs(mine - theirs) / abs(theirs)))")
        }
    }

    private func compareCodes(_ replica: Replica, with recorded: Group, step: Int) throws {
        for level in VQVAELevel.allCases {
            let theirs = try recorded.openDataset("codes/\(level.name)").read(as: Int32.self)
            let margins = try recorded.openDataset("margins/\(level.name)").read(as: Double.self)
            let ours = replica.vqvae.quantizer(level).indices
            XCTAssertEqual(ours.count, theirs.count, "step \(step) \(level.name) code count")
            var nearTies: [Int] = []
            for p in 0..<min(ours.count, theirs.count) where ours[p] != theirs[p] {
                if margins[p] < 1e-5 {
                    nearTies.append(p)
                    print("step \(step) \(level.name) position \(p): code \(ours[p]), PyTorch \(theirs[p]) (a near tie, margin \(margins[p]))")
                } else {
                    XCTFail("step \(step) \(level.name) position \(p): code \(ours[p]), PyTorch \(theirs[p]) (margin \(margins[p]))")
                }
            }
            XCTAssertLessThanOrEqual(
                nearTies.count * 200, theirs.count,
                "step \(step) \(level.name): \(nearTies.count) near ties of \(theirs.count) positions differ")
        }
    }

    /// Every tensor the fixture summarises: its sum, norm and leading values within 1e-4 of its norm. The fixture
    /// must also summarise every tensor of ours, so that none goes unchecked.
    private func compareTensors(_ replica: Replica, with summaries: Dataset, step: Int) throws {
        let names = try summaries.stringAttribute("names").split(separator: "\n").map(String.init)
        let table = try summaries.read(as: Double.self), columns = summaries.shape[1]
        let tensors = stateTensors(replica)
        XCTAssertEqual(Set(names).symmetricDifference(tensors.keys).sorted(), [], "step \(step): tensors not on both sides")
        var worst = (name: "", ratio: 0.0)
        for (row, name) in names.enumerated() {
            guard let values = tensors[name] else { continue }
            let reference = table[(row * columns)..<((row + 1) * columns)].map { $0 }
            let leading = Int(reference[0]), tolerance = 1e-4 * reference[2]
            var sum = 0.0, squares = 0.0
            for v in values {
                sum += Double(v)
                squares += Double(v) * Double(v)
            }
            var errors = [abs(sum - reference[1]), abs(squares.squareRoot() - reference[2])]
            for i in 0..<min(leading, values.count) { errors.append(abs(Double(values[i]) - reference[3 + i])) }
            let error = errors.max()!
            let ratio = error / max(reference[2], 1e-30)
            if ratio > worst.ratio { worst = (name, ratio) }
            XCTAssertLessThanOrEqual(
                error, tolerance,
                "step \(step) \(name): off by \(error), norm \(reference[2]) (sum \(sum) vs \(reference[1]))")
        }
        print("step \(step): \(names.count) tensors; the largest error is \(worst.ratio) of its tensor's norm (\(worst.name))")
    }

    /// Our tensors by the fixture's names: parameters, gradients and Adam moments of every part, and both levels'
    /// codebook, EMA counts and EMA sums.
    private func stateTensors(_ replica: Replica) -> [String: UnsafeBufferPointer<Float>] {
        var tensors: [String: UnsafeBufferPointer<Float>] = [:]
        for part in ModelPart.allCases {
            let store = replica.stores[part], adam = replica.optimizers[part]
            for p in store.parameters {
                tensors["parameter/\(p.name)"] = UnsafeBufferPointer(start: store.value(p), count: p.count)
                tensors["gradient/\(p.name)"] = UnsafeBufferPointer(start: store.gradient(p), count: p.count)
                tensors["adam_m/\(p.name)"] = UnsafeBufferPointer(start: adam.m.baseAddress! + p.offset, count: p.count)
                tensors["adam_v/\(p.name)"] = UnsafeBufferPointer(start: adam.v.baseAddress! + p.offset, count: p.count)
            }
        }
        for level in VQVAELevel.allCases {
            let quantizer = replica.vqvae.quantizer(level)
            tensors["ema/\(level.name)/codebook"] = UnsafeBufferPointer(quantizer.codebook)
            tensors["ema/\(level.name)/counts"] = UnsafeBufferPointer(quantizer.counts)
            tensors["ema/\(level.name)/sums"] = UnsafeBufferPointer(quantizer.sums)
        }
        return tensors
    }
}
