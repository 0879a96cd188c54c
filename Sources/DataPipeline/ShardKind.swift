/// What the shards of a set hold.
package enum ShardKind: String, Codable, Sendable {
    /// `images` uint8 [N, S, S, 3] with `labels`: what `prepare` writes (and other tools in the common layout).
    case images
    /// `top` [N, S/8, S/8] and `bottom` [N, S/4, S/4] code maps with `labels`: what `extract-codes` writes.
    case codes
}
