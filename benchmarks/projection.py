#!/usr/bin/env python3
"""The cluster projection of docs/SCALING.md: step time, throughput and ImageNet epoch time of data-parallel
training on p ranks, from measured one-rank step times, gradient sizes and all-reduce costs.

    benchmarks/projection.py --compute FILE [--compute FILE ...] --link NAME=FILE [--link ...]
                             [--assume-link NAME=GBPS] [--ranks 8,64,512] [--check NAME=FILE ...]

--compute  RESULT lines of `vqvae2-bench train` on one rank (part=vqvae, top, bottom and joint of one config;
           the parts give the overlap, the joint line the step). Measure them with every core of the host busy,
           as a rank of a full host runs.
--link     the output of `vqvae2-bench allreduce` over one transport; its "fit:" line gives the latency a and the
           bandwidth B of the ring all-reduce's cost model.
--assume-link  a link that was not measured: NAME=Gbit/s, with the latency of the last --link (an assumption,
           printed as such).
--overlap  none (the default, what the measured 2-rank runs show) or model (see below).
--check    RESULT lines of the same joint step measured on 2 ranks over the transport NAME: the projection's 2-rank
           step must lie within 15% of each, or the program exits 1.

The model, per step of a joint schedule whose backward runs VQ-VAE, top prior, bottom prior in that order:
  all-reduce of model m over p ranks   C_m(p) = 2(p-1)/p x bytes_m / B + (p-1) x a x calls_m
  (calls_m: the gradient reducer's buckets of model m; a ring all-reduce pays the latency once per step around
  the ring, p-1 steps);
  overlap none: the all-reduce shows whole, exposed = sum of C_m. This is what the gradient reducer gets: a
           non-blocking all-reduce advances only inside MPI calls, and it makes them between models, so the
           2-rank runs show nearly all of it;
  overlap model: model m's all-reduce runs while the models after it compute their backward, so what shows is
           exposed_m = max(0, C_m - compute of the later models) (the last model's whole): what a progress
           thread would give;
  step(p) = compute of the joint step on one rank + the exposed all-reduce;
  throughput = p x batch per rank / step(p); epoch = 1,281,167 images / throughput; cores = p x threads per
  rank, so that configs measured at 1 and at 2 threads per rank compare per core.
Weak scaling: the batch per rank stays the measured one, so the global batch grows with p.
"""
import argparse
import os
import re
import sys

IMAGENET_TRAIN_IMAGES = 1_281_167
ORDER = ["vqvae", "top", "bottom"]


def results(path):
    """Every RESULT line of a file as a dict of its key=value fields."""
    rows = []
    with open(path) as f:
        for line in f:
            if line.startswith("RESULT "):
                rows.append(dict(field.split("=", 1) for field in line.split()[1:]))
    return rows


def link_fit(path):
    """(latency in seconds, bandwidth in bytes/s) from an allreduce bench's "fit: time = A us + ... / B GB/s"."""
    with open(path) as f:
        text = f.read()
    match = re.search(r"fit: time = ([0-9.]+) us \+ .* / ([0-9.]+) GB/s", text)
    if not match:
        sys.exit(f"{path}: no 'fit: time = ... us + ... / ... GB/s' line (the output of vqvae2-bench allreduce)")
    return float(match.group(1)) * 1e-6, float(match.group(2)) * 1e9


class Step:
    """One config's measured one-rank step: the joint step's time and per model its time, bytes and calls."""

    def __init__(self, rows, source):
        self.parts = {}
        for row in rows:
            self.parts[row["part"]] = row
        if "joint" not in self.parts:
            sys.exit(f"{source}: no part=joint RESULT line")
        missing = [p for p in ORDER if p not in self.parts]
        if missing:
            sys.exit(f"{source}: no RESULT line for part(s) {', '.join(missing)} (the overlap needs each model)")
        joint = self.parts["joint"]
        self.config = os.path.basename(joint["config"])
        self.batch = int(joint["batch"])
        self.threads = int(joint["threads"])
        for p in ORDER:
            if int(self.parts[p]["batch"]) != self.batch:
                sys.exit(f"{source}: part={p} has batch {self.parts[p]['batch']}, the joint step {self.batch}")
            if int(self.parts[p]["threads"]) != self.threads:
                sys.exit(f"{source}: part={p} ran {self.parts[p]['threads']} thread(s), the joint step {self.threads}")
        self.compute = float(joint["step_ms"]) / 1e3
        self.gradient_bytes = int(joint["gradient_bytes"])

    def model(self, part):
        row = self.parts[part]
        return float(row["step_ms"]) / 1e3, int(row["gradient_bytes"]), int(row["allreduce_calls"])

    def step(self, p, latency, bandwidth, overlap):
        """(step seconds, exposed communication seconds, all-reduce seconds in all) on p ranks."""
        if p == 1:
            return self.compute, 0.0, 0.0
        exposed = total = 0.0
        for i, part in enumerate(ORDER):
            _, nbytes, calls = self.model(part)
            cost = 2 * (p - 1) / p * nbytes / bandwidth + (p - 1) * latency * calls
            hidden = sum(self.model(later)[0] for later in ORDER[i + 1:]) if overlap == "model" else 0.0
            exposed += max(0.0, cost - hidden)
            total += cost
        return self.compute + exposed, exposed, total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compute", action="append", required=True)
    parser.add_argument("--link", action="append", default=[], help="NAME=FILE")
    parser.add_argument("--assume-link", action="append", default=[], help="NAME=GBIT_PER_S")
    parser.add_argument("--ranks", default="8,64,512")
    parser.add_argument("--check", action="append", default=[], help="NAME=FILE")
    parser.add_argument("--overlap", choices=["none", "model"], default="none")
    args = parser.parse_args()

    links = {}
    for spec in args.link:
        name, path = spec.split("=", 1)
        links[name] = (*link_fit(path), "measured")
    if args.assume_link and not links:
        sys.exit("--assume-link takes its latency from a measured --link: give one")
    last_latency = list(links.values())[-1][0] if links else 0
    for spec in args.assume_link:
        name, gbit = spec.split("=", 1)
        links[name] = (last_latency, float(gbit) * 1e9 / 8, "assumed")
    ranks = [int(r) for r in args.ranks.split(",")]

    print("| config | batch/rank | threads/rank | link | a (us) | B (GB/s) | ranks | step (s) | exposed comm (s) "
          "| all-reduce (s) | comm share | images/s | cores | images/s/core | epoch (h) |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    steps = []
    for path in args.compute:
        step = Step(results(path), path)
        steps.append(step)
        for name, (latency, bandwidth, kind) in links.items():
            for p in ranks:
                seconds, exposed, total = step.step(p, latency, bandwidth, args.overlap)
                rate = p * step.batch / seconds
                print(f"| {step.config} | {step.batch} | {step.threads} | {name} ({kind}) | {latency * 1e6:.1f} "
                      f"| {bandwidth / 1e9:.2f} | {p} | {seconds:.3f} | {exposed:.3f} | {total:.3f} "
                      f"| {exposed / seconds:.1%} | {rate:.2f} | {p * step.threads} | {rate / (p * step.threads):.4f} "
                      f"| {IMAGENET_TRAIN_IMAGES / rate / 3600:.1f} |")

    print()
    print("Where overlap starts to matter: the smallest power-of-two world size at which the all-reduce that")
    print("shows is over 10% of the step, without overlap and with per-model overlap (beyond that, only overlap")
    print("per layer, as DDP's buckets during backward, could hide the last model's all-reduce).")
    for step in steps:
        for name, (latency, bandwidth, kind) in links.items():
            def first(overlap):
                for p in (2 ** k for k in range(1, 17)):
                    seconds, exposed, _ = step.step(p, latency, bandwidth, overlap)
                    if exposed > 0.10 * seconds:
                        return f"{p} ranks"
                return "none up to 65536 ranks"
            print(f"- {step.config}, batch {step.batch}/rank, {step.threads} thread(s)/rank, {name} ({kind}): "
                  f"without overlap {first('none')}, "
                  f"with per-model overlap {first('model')}")

    failed = False
    for spec in args.check:
        name, path = spec.split("=", 1)
        if name not in links:
            sys.exit(f"--check {name}: no --link {name}=FILE to project it with")
        latency, bandwidth, _ = links[name]
        for row in results(path):
            if row.get("part") != "joint" or int(row["ranks"]) != 2:
                continue
            config = os.path.basename(row["config"])
            step = next((s for s in steps if s.config == config and s.batch == int(row["batch"])
                         and s.threads == int(row["threads"])), None)
            if step is None:
                sys.exit(f"{path}: no --compute lines for {row['config']} at batch {row['batch']} and "
                         f"{row['threads']} thread(s) per rank")
            projected = step.step(2, latency, bandwidth, args.overlap)[0]
            measured = float(row["step_ms"]) / 1e3
            error = projected / measured - 1
            ok = abs(error) <= 0.15
            failed |= not ok
            print(f"check {name}: {row['config']} batch {row['batch']}: projected {projected:.3f} s, measured "
                  f"{measured:.3f} s on 2 ranks: {error:+.1%} {'ok' if ok else 'OUTSIDE 15%'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
