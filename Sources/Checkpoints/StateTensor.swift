/// One named fp32 tensor of the training state: read from when saving, filled when loading.
///
/// The name is a path of components (`vqvae/adam/m`); it becomes the dataset's path inside a shard, so
/// `h5dump -d /vqvae/adam/m shard-00001-of-00002.h5` prints it. The buffer belongs to the caller and must stay valid
/// for the duration of the save or load it is passed to.
package struct StateTensor: @unchecked Sendable {
    package let name: String
    package let shape: [Int]
    package let buffer: UnsafeMutableBufferPointer<Float>

    package init(name: String, shape: [Int], buffer: UnsafeMutableBufferPointer<Float>) {
        self.name = name
        self.shape = shape
        self.buffer = buffer
    }

    /// The number of elements the shape describes.
    package var count: Int { shape.reduce(1, *) }

    /// The size in bytes of the stored values.
    package var byteCount: Int { count * MemoryLayout<Float>.size }

    /// Checks everything a save or load relies on: a dataset-safe name, a shape of at least one dimension with
    /// positive extents (a scalar is shape [1]), and a buffer of exactly that many values.
    func validate() throws {
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
        guard !name.isEmpty,
            components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && $0.allSatisfy(allowed.contains) })
        else {
            throw CheckpointError.invalidTensor(
                name: name, "a name is components of [A-Za-z0-9_.-] separated by single '/', without a leading '/'")
        }
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }) else {
            throw CheckpointError.invalidTensor(name: name, "shape \(shape) must have at least one dimension, all positive")
        }
        guard buffer.count == count else {
            throw CheckpointError.invalidTensor(name: name, "buffer holds \(buffer.count) values, shape \(shape) needs \(count)")
        }
    }

    /// Validates a whole list: each tensor, unique names, and no name that is a group of another (`a` and `a/b`
    /// cannot both be datasets).
    static func validate(_ tensors: [StateTensor]) throws {
        for tensor in tensors { try tensor.validate() }
        var seen = Set<String>()
        for tensor in tensors where !seen.insert(tensor.name).inserted {
            throw CheckpointError.invalidTensor(name: tensor.name, "appears twice in the state")
        }
        for tensor in tensors {
            var prefix = ""
            for component in tensor.name.split(separator: "/").dropLast() {
                prefix += prefix.isEmpty ? String(component) : "/" + component
                if seen.contains(prefix) {
                    throw CheckpointError.invalidTensor(name: tensor.name, "lies under '\(prefix)', which is itself a tensor")
                }
            }
        }
    }
}
