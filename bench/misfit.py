"""The generator's misfit of real digits (issue 28): how far the closest drawing of a held-out real
digit is from it, per pixel and through each instrument — the figures behind the report's check of a
`looks like` (riddle/infer/judge.entry_variance).

    python -m bench.misfit [--per-class 4] [--restarts 12] [--steps 200] [--models coupled]

Each held-out digit (never seen by riddle's models; not those bench/measure evaluates on) is seen
whole with a little noise (σ 0.05) and solved alone (advi; the best-ELBO restart is the closest
drawing). Its misfit e = real − drawing gives
- rms: the root-mean-square of e over pixels and digits (the domain's misfit_rms),
- ℓ: the correlation length of e, fitted so that the predicted variance of the misfit through each
  instrument (rms² · diag(L K Lᵀ), K_ij = exp(−d_ij² / 2ℓ²)) matches the measured one on average
  (log-ratio least squares over blur 1/2/3, downsample 2/4/7),
- per instrument and for random projections, the predicted against the measured variance, and
- how many of these digits' closest drawings the kept rule keeps, per instrument, at σ 0.05 and 0.1
  (the same drawings measured through each chain: a check of the rule, not a solve through it).
Writes docs/bench/misfit.json and the "Generator misfit" section of docs/BENCHMARKS.md; with
`--models coupled`, the coupled family's generator instead (docs/bench/misfit-coupled.json, section
"Generator misfit: coupled family"), whose two numbers the family's description carries
(riddle/models/registry.py, FAMILIES).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from bench.common import machine, publish, rerender
from riddle.infer.base import RunConfig
from riddle.infer.instruments import measure_numpy, misfit_variance
from riddle.infer.solve import solve
from riddle.lang import load_text
from riddle.lang.checked import MATCH_SIGMAS, Instrument
from riddle.models.families import registry
from riddle.models.registry import held_out_digits
from riddle.report.images import encode_png
from riddle.vocabulary import MODEL_FAMILIES

LOCAL = [("blur", 1), ("blur", 2), ("blur", 3), ("downsample", 2), ("downsample", 4), ("downsample", 7)]
PROJECTIONS = (10, 25, 100, 500)
LENGTHS = np.round(np.arange(0.30, 1.201, 0.05), 2)


def closest_drawings(images, labels, per_class: int, restarts: int, steps: int, models: str = "default"):
    rng = np.random.default_rng(1)
    picks = [int(np.flatnonzero(labels == k)[j]) for j in range(5, 5 + per_class) for k in range(10)]
    real, drawn = [], []
    for i in picks:
        seen = np.clip(images[i] + rng.normal(0, 0.05, images[i].shape), 0, 1)
        riddle = load_text('digits x\nx looks like "m.png" with noise 0.05\n', files={"m.png": encode_png(seen)},
                           registry=registry(models))
        sol = solve(riddle, RunConfig(seed=0, restarts=restarts, steps=steps, pairs=1), device="cpu", method="advi")
        real.append(images[i])
        drawn.append(sol.images[int(np.argmax(sol.elbo)), 0])
    return np.array(real, np.float64), np.array(drawn, np.float64), labels[picks]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-class", type=int, default=4)
    ap.add_argument("--restarts", type=int, default=12)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--models", choices=tuple(MODEL_FAMILIES), default="default",
                    help="whose generator: a model family's (riddle/vocabulary.py)")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--render", action="store_true", help="rewrite the section from docs/bench/misfit.json; no run")
    args = ap.parse_args(argv)
    output, heading = outputs(args.models)
    if args.render:
        rerender(output, heading, section)
        return 0
    images, labels = held_out_digits()
    t = time.perf_counter()
    real, drawn, picked = closest_drawings(images, labels, args.per_class, args.restarts, args.steps, args.models)
    seconds = time.perf_counter() - t
    e = real - drawn                                                                     # [N, 28, 28]
    per_digit = np.sqrt((e ** 2).mean(axis=(1, 2)))
    rms = float(np.sqrt((e ** 2).mean()))
    chains = {f"{k} {v}": [Instrument(k, float(v))] for k, v in LOCAL}
    rng = np.random.default_rng(0)
    for m in PROJECTIONS:
        a = rng.normal(0, 1 / np.sqrt(m), (m, 784)).astype(np.float32)
        chains[f"projection, m = {m}"] = [Instrument("projection", path=f"A{m}.npy", matrix=a)]
    measured = {name: float((measure_numpy(ch, e) ** 2).mean()) for name, ch in chains.items()}

    def predicted(name, length):
        return float(misfit_variance(chains[name], (28, 28), rms, length).mean())
    local = [f"{k} {v}" for k, v in LOCAL]
    fit = {float(ln): float(np.mean([np.log(predicted(n, ln) / measured[n]) ** 2 for n in local])) for ln in LENGTHS}
    length = min(fit, key=fit.get)
    rows = []
    for name, ch in {"identity": [], **chains}.items():
        le = measure_numpy(ch, e).reshape(len(e), -1)                                   # [N, entries]
        row = {"chain": name, "measured": float((le ** 2).mean()),
               "independent": predicted_or(ch, rms, 0.0), "predicted": predicted_or(ch, rms, length)}
        for sigma in (0.05, 0.1):
            # the data: the real digit through the chain plus noise σ; the answer: its closest drawing
            residual = le + rng.normal(0, sigma, le.shape)
            variance = (sigma ** 2 + misfit_variance(ch, (28, 28), rms, length)).reshape(-1)
            row[f"kept_{sigma}"] = float(((residual ** 2 / variance).mean(1) <= MATCH_SIGMAS ** 2).mean())
            row[f"kept_noise_only_{sigma}"] = float((np.sqrt((residual ** 2).mean(1)) <= MATCH_SIGMAS * sigma).mean())
        # the other side: the closest drawing of the next digit (another class) against this digit's data
        wrong = measure_numpy(ch, real - np.roll(drawn, 1, axis=0)).reshape(len(e), -1)
        wrong = wrong + rng.normal(0, 0.1, wrong.shape)
        variance = (0.1 ** 2 + misfit_variance(ch, (28, 28), rms, length)).reshape(-1)
        row["wrong_kept_0.1"] = float(((wrong ** 2 / variance).mean(1) <= MATCH_SIGMAS ** 2).mean())
        rows.append(row)
        print(row, flush=True)
    out = {"machine": machine(), "models": args.models, "digits": len(e), "restarts": args.restarts,
           "steps": args.steps,
           "seconds": round(seconds, 1), "rms": rms, "length": length,
           "per_digit": {"min": float(per_digit.min()), "median": float(np.median(per_digit)),
                         "p90": float(np.quantile(per_digit, 0.9)), "max": float(per_digit.max()),
                         "by_class": {str(k): float(np.sqrt((per_digit[picked == k] ** 2).mean()))
                                      for k in range(10)}},
           "neighbour_correlation": float((e[:, :, 1:] * e[:, :, :-1]).mean() / (e ** 2).mean()),
           "fit": fit, "rows": rows}
    if not args.no_write:
        publish(output, heading, out, section)
    return 0


def outputs(models: str) -> tuple[str, str]:
    """docs/bench/NAME.json and the section's heading for a family's run."""
    if models == "default":
        return "misfit", "## Generator misfit"
    return f"misfit-{models}", f"## Generator misfit: {models} family"


def predicted_or(chain, rms: float, length: float) -> float:
    return float(misfit_variance(chain, (28, 28), rms, length).mean())


def section(out: dict) -> str:
    pd = out["per_digit"]
    models = out.get("models", "default")
    flag = "" if models == "default" else f" --models {models}"
    lines = [outputs(models)[1], "",
             f"Measured by `python -m bench.misfit{flag}` on {out['machine']}: {out['digits']} held-out real digits "
             f"({out['digits'] // 10} per class, never seen by riddle's models), each seen whole with noise σ 0.05 and "
             f"solved alone (advi, {out['restarts']} restarts × {out['steps']} steps; the best-ELBO restart is the "
             f"generator's closest drawing). The misfit e = real − drawing: **{out['rms']:.4f} RMS per pixel** "
             f"(per digit: {pd['min']:.3f} – {pd['max']:.3f}, median {pd['median']:.3f}, 90 % below {pd['p90']:.3f}; "
             "per class, closest drawn first: "
             + ", ".join(f"{k} {v:.3f}" for k, v in sorted(pd["by_class"].items(), key=lambda kv: kv[1]))
             + f"); neighbouring pixels' misfits correlate {out['neighbour_correlation']:.2f}, fitted as a Gaussian "
             f"correlation of length **ℓ = {out['length']:.2f} pixels**. These two numbers are the digit domain's "
             f"`misfit_rms` and `misfit_length`{'' if models == 'default' else f' in the {models} family'}: "
             "the report's check of a `looks like` expects a right answer's residual "
             "at each measured entry to have variance σ² + rms² · diag(L K Lᵀ) (L the instruments' matrix) and keeps "
             f"an answer when χ² per seen entry ≤ {MATCH_SIGMAS ** 2:g} (docs/LANGUAGE.md, \"Measurements\").", "",
             "The misfit's variance per measured entry through each chain: measured on these digits, predicted "
             "with independent pixels, and predicted with ℓ; then the share of these digits' closest drawings the "
             "kept rule keeps when the data is the real digit through the chain plus noise σ, the share the old "
             "rule (RMS ≤ 1.5 σ, noise only) kept, and the other side: the share of another class's closest "
             "drawings the rule keeps against this digit's data (σ 0.1; should be 0).", "",
             "| chain | measured | predicted, independent | predicted, ℓ | kept, σ 0.05 | kept, σ 0.1 | "
             "old rule, σ 0.05 | old rule, σ 0.1 | another digit kept, σ 0.1 |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in out["rows"]:
        lines.append(f"| {r['chain']} | {r['measured']:.5f} | {r['independent']:.5f} | {r['predicted']:.5f} | "
                     f"{100 * r['kept_0.05']:.0f} % | {100 * r['kept_0.1']:.0f} % | "
                     f"{100 * r['kept_noise_only_0.05']:.0f} % | {100 * r['kept_noise_only_0.1']:.0f} % | "
                     f"{100 * r['wrong_kept_0.1']:.0f} % |")
    lines += ["", {"default": NOTES, "coupled": COUPLED_NOTES}.get(models, "")]
    return "\n".join(lines)


NOTES = """\
What it says: the generator's closest drawing of a real digit misses it by about 0.07 per pixel —
more than the noise of a clean scan — so a rule on the noise alone rejects right answers whenever σ is
small or the instrument sums many pixels into one entry: a random projection adds 784 / m pixels'
misfit into each entry, and no drawing of a projected real digit passed the old rule. Independent
pixels under-predict what blurs and thumbnails keep of the misfit (neighbours' misfits correlate);
the fitted ℓ brings local instruments within the measured figures, and projections are predicted
either way (a random matrix averages the correlation out). The rule's margin (χ² ≤ 2.25) is for the
digits the generator draws worse than most (a 3 or an 8 up to twice the typical misfit). The last
column is the price: through blur 3 or onto a 4 x 4 thumbnail at σ 0.1, another digit's drawing fits
the data within the noise (the misfit term is a few per cent of σ² there: the data itself cannot
tell those digits apart, and only the riddle's logic can).
"""

COUPLED_NOTES = """\
What it says (the columns and the rule: the section above): the coupled network's closest drawing of
a real digit misses it by 0.19 per pixel, 2.6 times the default generator's, and its misfit is
smoother (ℓ 1.1 pixels): a dense net of one class-conditional layer draws its classes' typical
shapes, not a given hand. With these two numbers the rule keeps 95-100 % of right answers through
every chain, but the last column is the cost: another class's closest drawing fits the data
15-70 % of the time, so with `models coupled` a `looks like` tells digits apart weakly and the
riddle's logic does most of that work. The default family is the one for riddles that see images.
"""


if __name__ == "__main__":
    raise SystemExit(main())
