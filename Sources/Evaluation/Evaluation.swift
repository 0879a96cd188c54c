/// Held-out evaluation, reconstruction and sample grids, and training-curve plots.
enum EvaluationPlaceholder {}
