# The benchmark scripts' tiny experiment, sourced by them (not run): its demo shards and its model sections, the
# same networks as the tests' TinyExperiment, small enough that a step takes milliseconds.

# tiny_demo_data BIN WORK: a 4-class demo image set at 16 px, converted to shards in WORK/data.
tiny_demo_data() {
  "$1" prepare --demo "$2/src" --output "$2/data" --image-size 16 --demo-classes 4 --demo-train-per-class 8 \
    --demo-val-per-class 2 --train-shards 2 >/dev/null
}

# tiny_model_sections: the model, top_prior and bottom_prior sections of a config, for the start of one.
tiny_model_sections() {
  cat <<'YAML'
model:
  image_size: 16
  channels: 16
  residual_channels: 8
  codebook_size: 32
  code_dim: 8
top_prior:
  channels: 16
  residual_units: 16
  layers: 2
  first_kernel: 3
  kernel: 3
  output_layers: 2
  attention_every: 1
  heads: 2
bottom_prior:
  channels: 16
  residual_units: 16
  layers: 2
  first_kernel: 3
  kernel: 3
  output_layers: 2
  conditioning_layers: 1
  conditioning_channels: 16
YAML
}
