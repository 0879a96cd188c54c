import Numerics
import TestSupport
import XCTest

final class OptimizerTests: XCTestCase {
    /// Runs `adam` over the fixture's gradient sequence and compares every step with PyTorch's trajectory.
    private func checkTrajectory(_ adam: Adam, reference name: String, fixture: GoldenFixture) throws {
        let values = try fixture.tensor("start")
        let gradients = try fixture.tensor("gradients")
        let trace = try fixture.values(name)
        let count = values.count, steps = gradients.shape[0]
        for s in 0..<steps {
            adam.update(values: values.data, gradients: gradients.data + s * count, lr: 1e-2)
            assertClose(values.array, Array(trace[(s * count)..<((s + 1) * count)]), "\(name) step \(s + 1)")
        }
        XCTAssertEqual(adam.step, steps)
    }

    func testAdamAgainstPyTorch() throws {
        let fixture = try GoldenFixture("optimizers")
        try checkTrajectory(Adam(count: 7), reference: "adam", fixture: fixture)
    }

    func testAdamWAgainstPyTorch() throws {
        let fixture = try GoldenFixture("optimizers")
        try checkTrajectory(Adam(count: 7, weightDecay: 0.1), reference: "adamw", fixture: fixture)
    }

    func testGradientClippingAgainstPyTorch() throws {
        let fixture = try GoldenFixture("optimizers")
        for name in ["clip_big", "clip_none"] {
            let gradients = try fixture.tensor(name + ".before")
            let maxNorm = Double(try fixture.values(name + ".max_norm")[0])
            let norm = GradientClipping.clip(gradients.data, count: gradients.count, maxNorm: maxNorm)
            assertClose([Float(norm)], try fixture.values(name + ".norm"), name + " norm")
            assertClose(gradients.array, try fixture.values(name + ".after"), name + " clipped")
        }
    }

    func testWarmupThenCosine() {
        let schedule = LearningRateSchedule(base: 1e-3, warmupSteps: 4, decay: .cosine, totalSteps: 14, minimum: 1e-4)
        XCTAssertEqual(schedule.rate(at: 0), 2.5e-4, accuracy: 1e-9)
        XCTAssertEqual(schedule.rate(at: 1), 5e-4, accuracy: 1e-9)
        XCTAssertEqual(schedule.rate(at: 3), 1e-3, accuracy: 1e-9)
        XCTAssertEqual(schedule.rate(at: 4), 1e-3, accuracy: 1e-9)
        XCTAssertEqual(schedule.rate(at: 9), 5.5e-4, accuracy: 1e-9)
        // A quarter of the way: 1e-4 + 9e-4 * (1 + cos(pi / 4)) / 2.
        let quarter = LearningRateSchedule(base: 1e-3, warmupSteps: 0, decay: .cosine, totalSteps: 8, minimum: 1e-4)
        XCTAssertEqual(quarter.rate(at: 2), 1e-4 + 9e-4 * 0.853_553_4, accuracy: 1e-9)
        XCTAssertEqual(schedule.rate(at: 14), 1e-4, accuracy: 1e-9)
        XCTAssertEqual(schedule.rate(at: 1000), 1e-4, accuracy: 1e-9)
    }

    func testConstantAfterWarmup() {
        let schedule = LearningRateSchedule(base: 3e-4, warmupSteps: 3)
        XCTAssertEqual(schedule.rate(at: 0), 1e-4, accuracy: 1e-10)
        XCTAssertEqual(schedule.rate(at: 2), 3e-4)
        XCTAssertEqual(schedule.rate(at: 500), 3e-4)
        XCTAssertEqual(LearningRateSchedule(base: 3e-4).rate(at: 0), 3e-4)
    }
}
