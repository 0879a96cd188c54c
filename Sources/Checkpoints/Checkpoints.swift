/// Sharded checkpoints: every rank writes its share of the state; a manifest written last commits them.
enum CheckpointsPlaceholder {}
