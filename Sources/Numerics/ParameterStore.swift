#if canImport(Glibc)
import Glibc
#endif

/// How a parameter's initial values are drawn.
package enum Initializer: Sendable, Equatable {
    /// Uniform in [-bound, bound]: PyTorch's default for convolution and linear weights and biases is
    /// bound = 1/sqrt(fan_in) (Kaiming-uniform with a = sqrt(5)).
    case uniform(bound: Float)
    case normal(std: Float)
    case constant(Float)

    /// PyTorch's default for a layer whose weight has `fanIn` inputs per output.
    package static func pytorchDefault(fanIn: Int) -> Initializer { .uniform(bound: 1 / Float(fanIn).squareRoot()) }
}

/// A named slice of the flat parameter buffer.
package struct Parameter: Sendable, Equatable {
    package let index: Int
    package let name: String
    package let shape: [Int]
    package let offset: Int
    package var count: Int { shape.reduce(1, *) }
    package let initializer: Initializer
}

/// All trainable parameters of a model in one contiguous buffer, and all gradients in another of the same layout.
///
/// Layers register their tensors at construction, in a fixed order, then `materialize` allocates both buffers and
/// draws initial values from counter-based streams keyed by (seed, parameter index): the same seed gives the same
/// model on every rank, and the flat buffers can be all-reduced, checksummed and checkpointed without copying.
package final class ParameterStore {
    package private(set) var parameters: [Parameter] = []
    package private(set) var count = 0
    package private(set) var values: UnsafeMutablePointer<Float>
    package private(set) var gradients: UnsafeMutablePointer<Float>
    package private(set) var isMaterialized = false
    /// Sees every convolution pass of the model's layers (a benchmark's timer); nil in training.
    package var passObserver: PassObserver?

    package init() {
        values = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        gradients = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    }

    deinit {
        values.deallocate()
        gradients.deallocate()
    }

    /// Registers a parameter; `name` is its path in checkpoints ("encoder.bottom.conv1.weight").
    package func register(_ name: String, shape: [Int], initializer: Initializer) -> Parameter {
        precondition(!isMaterialized, "register \(name) before materialize()")
        precondition(!parameters.contains { $0.name == name }, "parameter \(name) registered twice")
        let parameter = Parameter(
            index: parameters.count, name: name, shape: shape, offset: count, initializer: initializer)
        parameters.append(parameter)
        count += parameter.count
        return parameter
    }

    /// Allocates the buffers, zeroes the gradients and draws every parameter's initial values.
    package func materialize(seed: UInt64) {
        precondition(!isMaterialized, "materialize() called twice")
        values.deallocate()
        gradients.deallocate()
        values = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        gradients = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        gradients.initialize(repeating: 0, count: count)
        for p in parameters {
            let out = values + p.offset
            let random = CounterRandom(seed: seed, purpose: .parameterInitialization, keys: [UInt64(p.index)])
            switch p.initializer {
            case .uniform(let bound):
                for i in 0..<p.count { out[i] = (2 * random.uniform(UInt64(i)) - 1) * bound }
            case .normal(let std):
                for i in 0..<p.count { out[i] = random.normal(UInt64(i)) * std }
            case .constant(let value):
                out.initialize(repeating: value, count: p.count)
            }
        }
        isMaterialized = true
    }

    /// The values of `parameter`.
    @inlinable
    package func value(_ parameter: Parameter) -> UnsafeMutablePointer<Float> { values + parameter.offset }

    /// The gradient accumulator of `parameter`.
    @inlinable
    package func gradient(_ parameter: Parameter) -> UnsafeMutablePointer<Float> { gradients + parameter.offset }

    /// Sets every gradient to zero before a step's backward passes accumulate into them.
    package func zeroGradients() { gradients.update(repeating: 0, count: count) }

    /// The parameter named `name`, if registered.
    package func parameter(named name: String) -> Parameter? { parameters.first { $0.name == name } }
}
