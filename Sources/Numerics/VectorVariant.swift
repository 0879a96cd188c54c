import CVectorKernels
import Foundation

/// The instruction set the element-wise, Winograd-transform and accumulation kernels run with, lowest first.
///
/// Every variant gives the same bits (no kernel fuses a multiply and an add), so the variant changes speed, not
/// results; ranks still agree on the lowest one every rank supports, so that nothing a future variant does
/// differently can split the replicas. The choice is process-wide (`select`): every layer of every model must run
/// the same variant, and a per-layer choice would have to be threaded through every model's initialisers.
package enum VectorVariant: String, CaseIterable, Comparable, Codable, Sendable, CustomStringConvertible {
    /// What the build targets (SSE2 on x86-64).
    case baseline
    /// AVX2 with FMA (x86-64-v3).
    case avx2
    /// AVX-512 F, BW, VL and DQ.
    case avx512

    /// The environment variable that forces a variant (its value is one of the names).
    package static let environmentVariable = "VQVAE2_VECTOR_VARIANT"

    package var description: String { rawValue }

    package static func < (a: VectorVariant, b: VectorVariant) -> Bool { a.level < b.level }

    /// The variant's number in CVectorKernels (its order).
    var level: Int32 {
        switch self {
        case .baseline: Int32(VK_VARIANT_BASELINE)
        case .avx2: Int32(VK_VARIANT_AVX2)
        case .avx512: Int32(VK_VARIANT_AVX512)
        }
    }

    init(level: Int32) {
        guard let variant = VectorVariant.allCases.first(where: { $0.level == level }) else {
            preconditionFailure("no vector variant numbered \(level)")
        }
        self = variant
    }

    /// Why this machine cannot run the variant (the CPU, the OS's saved register state, or the build's
    /// architecture), or nil when it can.
    package var unsupportedReason: String? { vk_unsupported_reason(level).map { String(cString: $0) } }

    /// Whether this machine can run the variant.
    package var isSupported: Bool { unsupportedReason == nil }

    /// The highest variant this machine supports.
    package static var best: VectorVariant { VectorVariant(level: vk_best_supported()) }

    /// The variant `environment` forces through `VQVAE2_VECTOR_VARIANT`, or else the best one; throws when the
    /// value names no variant or one this machine cannot run.
    package static func requested(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> VectorVariant {
        guard let value = environment[environmentVariable], !value.isEmpty else { return best }
        guard let variant = VectorVariant(rawValue: value) else {
            throw VectorVariantError(
                "\(environmentVariable)=\(value) names no vector variant; use one of "
                    + allCases.map(\.rawValue).joined(separator: ", "))
        }
        if let reason = variant.unsupportedReason {
            throw VectorVariantError("\(environmentVariable)=\(value), but this machine cannot run it: \(reason)")
        }
        return variant
    }

    /// The variant the kernels run with now: the one last selected, or at first use `requested()`.
    package static var active: VectorVariant {
        let selected = vk_selected()
        if selected >= 0 { return VectorVariant(level: selected) }
        do {
            let variant = try requested()
            select(variant)
            return variant
        } catch {
            // Commands that start ranks (train, env, the benchmark) check `requested()` first and report this as
            // an error; a kernel reached without that check can only stop.
            preconditionFailure("\(error)")
        }
    }

    /// Makes `variant` the process's choice for every kernel from now on (start-up; tests between cases).
    package static func select(_ variant: VectorVariant) {
        precondition(variant.isSupported, "vector variant \(variant): \(variant.unsupportedReason ?? "")")
        vk_select(variant.level)
    }
}

/// A `VQVAE2_VECTOR_VARIANT` that names no variant, or one the machine cannot run.
package struct VectorVariantError: Error, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}

/// One variant's kernels, in Swift's types; the layers take `VectorKernels.active`.
struct VectorKernels {
    private let table: VKKernels

    /// The kernels of `variant`, which this build must carry.
    init(_ variant: VectorVariant) {
        guard let table = vk_kernels(variant.level) else {
            preconditionFailure("vector variant \(variant) is not in this build")
        }
        self.table = table.pointee
    }

    /// The kernels of the active variant.
    static var active: VectorKernels { VectorKernels(VectorVariant.active) }

    /// y = x < 0 ? 0 : x (NaN and -0 pass through).
    func reluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        table.relu_forward!(x, y, count)
    }

    /// dx = y > 0 ? dy : 0.
    func reluBackward(
        output y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, count: Int
    ) {
        table.relu_backward!(y, dy, dx, count)
    }

    /// Per row of x [rows, 2c] = [a | b]: gates = [tanh a | sigmoid b], y [rows, c] = tanh a * sigmoid b.
    func gateForward(
        _ x: UnsafePointer<Float>, gates: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int,
        channels: Int
    ) {
        table.gate_forward!(x, gates, y, rows, channels)
    }

    /// The gate's input gradient [rows, 2c] from its saved gates and dy [rows, c].
    func gateBackward(
        gates: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, rows: Int,
        channels: Int
    ) {
        table.gate_backward!(gates, dy, dx, rows, channels)
    }

    /// Winograd's B^T d B of one tile (see `vk_kernels`' header for the layout).
    func winogradInput(
        rows: UnsafePointer<UnsafePointer<Float>?>, tall: Bool, channels: Int,
        into destination: UnsafeMutablePointer<Float>, stride: Int
    ) {
        table.winograd_input!(rows, tall, channels, destination, stride)
    }

    /// Winograd's A^T m A + bias of one tile into its four output rows.
    func winogradOutput(
        _ source: UnsafePointer<Float>, stride: Int, bias: UnsafePointer<Float>,
        outputs: UnsafePointer<UnsafeMutablePointer<Float>?>, tall: Bool, channels: Int
    ) {
        table.winograd_output!(source, stride, bias, outputs, tall, channels)
    }

    /// Winograd's A dy A^T of one tile's 2x2 output gradient rows.
    func winogradGradient(
        rows: UnsafePointer<UnsafePointer<Float>?>, tall: Bool, channels: Int,
        into destination: UnsafeMutablePointer<Float>, stride: Int
    ) {
        table.winograd_gradient!(rows, tall, channels, destination, stride)
    }

    /// to += from over `count` floats.
    func add(_ from: UnsafePointer<Float>, into to: UnsafeMutablePointer<Float>, count: Int) {
        table.add!(to, from, count)
    }
}
