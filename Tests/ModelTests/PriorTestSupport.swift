import Model
import Numerics
import TestSupport
import XCTest

/// A prior small enough for bitwise and finite-difference checks in a debug build; its residual branches are
/// wider than its stacks, as the paper's are, so that no shape check confuses the two widths.
func tinyPriorConfig(attentionEvery: Int = 0, dropout: Float = 0) -> PriorConfig {
    PriorConfig(
        codebookSize: 6, classes: 3, channels: 4, residualUnits: 6, layers: 3, firstKernel: 3, kernel: 3,
        attentionEvery: attentionEvery, heads: 2, dropout: dropout, outputLayers: 2, conditioningLayers: 1,
        conditioningChannels: 3)
}

/// The prior of the learning tests: K = 16, four classes, no dropout so that the loss can reach zero.
func learningPriorConfig(attentionEvery: Int = 0) -> PriorConfig {
    PriorConfig(
        codebookSize: 16, classes: 4, channels: 32, layers: 4, firstKernel: 3, kernel: 3,
        attentionEvery: attentionEvery, heads: 2, dropout: 0, outputLayers: 2, conditioningLayers: 1,
        conditioningChannels: 16)
}

/// Codes uniform in 0 ..< k from a fixed stream.
func randomCodes(_ count: Int, below k: Int, seed: UInt64) -> [Int32] {
    let random = CounterRandom(seed: seed, keys: [0xC0DE])
    return (0..<count).map { Int32(random.integer(UInt64($0), below: k)) }
}

/// The parameter count of a prior written out layer by layer (CausalConv2D keeps only the shifted kernel's taps:
/// vertical (k/2 + 1) x k rows of taps with mask B, k/2 x k with mask A; horizontal k/2 + 1 or k/2 taps).
func expectedParameterCount(_ config: PriorConfig, attention: Bool, conditioning: Bool) -> Int {
    let c = config.channels, r = config.residualUnits, k = config.codebookSize, classes = config.classes
    let cc = config.conditioningChannels
    var total = k * c
    for l in 0..<config.layers {
        let kernel = l == 0 ? config.firstKernel : config.kernel
        let reach = l == 0 ? kernel / 2 : kernel / 2 + 1
        let hasVertical = l < config.layers - 1
        total += 2 * c * reach * kernel * c + 2 * c
        total += 2 * r * reach * c + 2 * r
        total += 2 * c * 2 * r
        total += classes * 2 * r + (hasVertical ? classes * 2 * c : 0)
        total += r * c + c
        if conditioning { total += cc * 2 * r + (hasVertical ? cc * 2 * c : 0) }
        if attention && config.attentionEvery > 0 && (l + 1) % config.attentionEvery == 0 {
            total += 3 * c * c + 3 * c + c * c + c
        }
    }
    total += (config.outputLayers - 1) * (c * c + c) + c * k + k
    if conditioning { total += k * cc + config.conditioningLayers * (cc * 9 * cc + cc + cc * cc + cc) }
    return total
}

/// For each position p in `positions`, replaces the codes at p and every later position (raster order) of every
/// sample and asserts that the logits at positions before p are bitwise unchanged and those at p too, while some
/// later logits do change (so that the check can fail).
func assertCausal(
    height: Int, width: Int, batch: Int, k: Int, positions: [Int], file: StaticString = #filePath,
    line: UInt = #line, logits: ([Int32]) -> [Float]
) {
    let area = height * width
    let codes = randomCodes(batch * area, below: k, seed: 5)
    let base = logits(codes)
    for p in positions {
        var perturbed = codes
        for n in 0..<batch {
            for q in p..<area { perturbed[n * area + q] = (codes[n * area + q] + 1 + Int32(q % (k - 1))) % Int32(k) }
        }
        let changed = logits(perturbed)
        var laterChanged = false
        for n in 0..<batch {
            for q in 0..<area {
                let range = ((n * area + q) * k)..<((n * area + q + 1) * k)
                let same = base[range] == changed[range]
                if q <= p {
                    XCTAssertTrue(
                        same, "codes from \(p) on changed the logits at \(q) (sample \(n))", file: file, line: line)
                } else if !same {
                    laterChanged = true
                }
            }
        }
        if p < area - 1 {
            XCTAssertTrue(laterChanged, "codes from \(p) on changed no later logits", file: file, line: line)
        }
    }
}

/// Checks every parameter's accumulated gradient of L = sum w * logits against central differences.
func checkPriorGradients(
    _ store: ParameterStore, samplesPerParameter: Int = 8, file: StaticString = #filePath, line: UInt = #line,
    forward: () -> Tensor, backward: (Tensor) -> Void
) {
    let first = forward()
    let weights = GradientCheck.lossWeights(count: first.count)
    store.zeroGradients()
    backward(Tensor(shape: first.shape, values: weights))
    let analytic = Array(UnsafeBufferPointer(start: store.gradients, count: store.count))
    let check = GradientCheck(step: 1e-3, samples: samplesPerParameter)
    for parameter in store.parameters {
        check.check(
            parameter.name, target: store.value(parameter), count: parameter.count,
            analytic: Array(analytic[parameter.offset..<(parameter.offset + parameter.count)]),
            loss: { GradientCheck.projection(forward(), weights) }, file: file, line: line)
    }
}

/// Runs `steps` Adam updates of `step` (which returns the loss and leaves gradients in the store); returns the
/// last loss.
func trainWithAdam(_ store: ParameterStore, steps: Int, lr: Float, step: () -> Double) -> Double {
    let adam = Adam(count: store.count)
    var loss = Double.infinity
    for _ in 0..<steps {
        store.zeroGradients()
        loss = step()
        adam.update(values: store.values, gradients: store.gradients, lr: lr)
    }
    return loss
}
