"""How long training takes: the whole zoo (`riddle train`) and one predicate (`riddle train-predicate`).

    python -m bench.train [--skip-zoo] [--out /tmp/riddle-train-bench]

Trains into a scratch folder (never over the shipped weights), times each stage and writes
docs/bench/train.json and the "Training" section of docs/BENCHMARKS.md. The zoo takes about a
quarter of an hour on two cores; `--skip-zoo` times only the predicate and keeps the zoo's last
figures.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from bench.common import ROOT, machine, save_json, write_section
from riddle.models.train import TrainConfig, train_all, train_predicate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-zoo", action="store_true")
    ap.add_argument("--out", default="/tmp/riddle-train-bench")
    args = ap.parse_args()
    torch.set_num_threads(2)
    path = ROOT / "docs" / "bench" / "train.json"
    out = json.loads(path.read_text()) if path.exists() else {}
    out["machine"] = machine()
    if not args.skip_zoo:
        started = time.perf_counter()
        cards = train_all(Path(args.out) / "zoo", cfg=TrainConfig(), progress=False)
        out["zoo"] = {"wall_seconds": time.perf_counter() - started,
                      "models": {name: {"training_seconds": c["training_seconds"], "metrics": c["metrics"]}
                                 for name, c in cards.items()}}
    started = time.perf_counter()
    card = train_predicate("prime", (2, 3, 5, 7), Path(args.out) / "prime", progress=False)
    out["predicate"] = {"name": "prime", "true_labels": [2, 3, 5, 7], "wall_seconds": time.perf_counter() - started,
                        "training_seconds": card["training_seconds"], "metrics": card["metrics"]}
    save_json(path, out)
    write_section(ROOT / "docs" / "BENCHMARKS.md", "## Training", section(out))


def section(out: dict) -> str:
    lines = ["## Training", "", f"Measured by `python -m bench.train` on {out['machine']} (scratch output folder; "
             "the shipped weights are untouched).", ""]
    if "zoo" in out:
        z = out["zoo"]
        parts = ", ".join(f"{n} {m['training_seconds']:.0f} s" for n, m in z["models"].items())
        gen = z["models"].get("generator", {}).get("metrics", {}).get("confident_share")
        cls = z["models"].get("classifier", {}).get("metrics", {}).get("test_accuracy")
        met = "met" if z["wall_seconds"] <= 20 * 60 else "not met"
        lines.append(f"- `riddle train` (every model of the zoo, {len(z['models'])} networks): "
                     f"{z['wall_seconds'] / 60:.1f} min wall (bar 20 min: {met}); "
                     f"in the training loops: {parts}. Reproduced quality: classifier "
                     f"{cls:.1%}, generator {gen:.1%} confidently judged (docs/MODELS.md has the shipped figures; "
                     "CPU training is not bit-exact across thread schedules).")
    p = out["predicate"]
    m = p["metrics"]
    lines.append(
        f"- `riddle train-predicate prime --true-labels 2,3,5,7` (default 30 epochs): {p['wall_seconds']:.0f} s "
        f"wall, {p['training_seconds']:.0f} s in the loop; held-out accuracy {m['test_accuracy']:.1%} on "
        f"{m['test_size']} real test digits, {m['generated_accuracy']:.1%} on {m['generated_size']} "
        "generated digits."
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
