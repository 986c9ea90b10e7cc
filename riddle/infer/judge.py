"""The judge: independent networks that read the answers' drawings, and the checks an answer must pass.

A restart's answer is the judge's reading of its drawing: the judge never served as a likelihood, so
a drawing that fooled the predicates is not counted as a success. An answer is right when the
oracle accepts its judged labels (`accepts`) and its drawings keep every observation (`observed`).
"""
from __future__ import annotations

import weakref

import numpy as np
import torch

from ..graph import FactorGraph, SymbolicResult, satisfies
from ..lang.checked import MATCH_SIGMAS, ObservationStatement
from ..models.zoo import for_inference
from .instruments import measure_numpy, misfit_variance

JUDGE_CHUNK = 512       # images per network call: a Sudoku's 100 samples × 51 drawn cells at once would hold
                        # gigabytes of activations


class Judge:
    """The judge networks of a graph's domains, in float32 from an inference copy (batch norm folded,
    channels-last: a sixth of a solve went to the judge before)."""

    def __init__(self, graph: FactorGraph, device):
        self.graph = graph
        self.networks = {d: for_inference(j).to(device) for d, j in
                         {u.domain.name: u.domain.load_judge() for u in graph.unknowns}.items()}
        self.self_judged = sorted({u.domain.name for u in graph.unknowns if not u.domain.has_judge})

    def __getitem__(self, domain: str):
        return self.networks[domain]

    def read(self, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """images [B, n, H, W] → judged labels [B, n] (label values) and their probabilities. A read sheet
        cell is the user's own picture, not a drawing to judge: its column is left −1 / 0 (the solver
        gives it the label it drew with the board, solve.read_answers) — the judge costs 0.8 ms an image,
        and a Sudoku's givens are 30 of its 81 columns."""
        read = {f.scope[0] for f in self.graph.reads}
        p = self._columns(images, [i for i, u in enumerate(self.graph.unknowns) if u.name not in read])
        labels, conf = [], []
        for i, u in enumerate(self.graph.unknowns):
            if i not in p:
                labels.append(np.full(len(images), -1))
                conf.append(np.zeros(len(images), np.float32))
                continue
            c, k = p[i].max(-1)
            labels.append(np.asarray(u.domain.labels)[k.cpu().numpy()])
            conf.append(c.cpu().numpy())
        return np.stack(labels, 1), np.stack(conf, 1)

    def _columns(self, images: torch.Tensor, columns: list[int]) -> dict[int, torch.Tensor]:
        """The judge's label probabilities of the given columns of images [B, n, H, W]: {column: [B, L]}, one
        network call per domain over all of its columns (a call per column cost twice as much on 2 cores)."""
        by_domain: dict[str, list[int]] = {}
        for i in columns:
            by_domain.setdefault(self.graph.unknowns[i].domain.name, []).append(i)
        out = {}
        with torch.no_grad():
            for domain, cols in by_domain.items():
                flat = images[:, cols].reshape(-1, *images.shape[2:])                    # [B·m, H, W]
                p = torch.cat([self.networks[domain](x).softmax(-1) for x in flat.split(JUDGE_CHUNK)])
                p = p.reshape(len(images), len(cols), -1)                                # [B, m, L]
                out.update({c: p[:, j] for j, c in enumerate(cols)})
        return out

    def probs(self, images: torch.Tensor) -> np.ndarray:
        """images [B, n, H, W] → the judge's label probabilities [B, n, L], padded to the largest domain."""
        L = max(len(u.domain.labels) for u in self.graph.unknowns)
        p = self._columns(images, list(range(len(self.graph.unknowns))))
        return np.stack([torch.nn.functional.pad(p[i], (0, L - p[i].shape[-1])).cpu().numpy()
                         for i in range(len(self.graph.unknowns))], 1)


def observations(graph: FactorGraph) -> list[ObservationStatement]:
    """The pixel observations an answer must keep (a read sheet cell is its picture: nothing to keep)."""
    return [o for o in graph.riddle.observations if not o.read]


_VARIANCES: dict[int, tuple] = {}     # id(statement) → (weak ref to it, domain, variance); see entry_variance


def entry_variance(statement: ObservationStatement, domain) -> np.ndarray:
    """[data shape]: the variance of a right answer's residual at each measured entry — the noise σ²
    plus the generator's misfit of real images (the domain's misfit_rms, correlated over misfit_length
    pixels) carried through the statement's instruments. Why the misfit: the generator cannot draw a
    real digit exactly (0.07 RMS per pixel), and a projection adds 784 / m pixels' misfit into each of
    its m entries, so on σ alone no drawing of a projected real digit would be kept
    (docs/LANGUAGE.md, "Measurements"). Cached by the statement's identity: statements compare equal by
    their span, so two riddles' `looks like` on the same line would share an lru_cache entry. The cache
    refers to a statement weakly: a long-running server must not keep old riddles' matrices alive."""
    hit = _VARIANCES.get(id(statement))
    if hit is not None and hit[0]() is statement and hit[1] == domain:
        return hit[2]
    variance = statement.noise ** 2 + misfit_variance(statement.through, domain.image_shape, domain.misfit_rms,
                                                      domain.misfit_length)
    if len(_VARIANCES) >= 64:
        _VARIANCES.pop(next(iter(_VARIANCES)))                  # the oldest
    _VARIANCES[id(statement)] = (weakref.ref(statement), domain, variance)
    return variance


def keeps(statement: ObservationStatement, domain, images: np.ndarray) -> np.ndarray:
    """images [..., H, W] of the statement's unknown → bool [...]: does each, through the instruments,
    keep the seen entries (χ² per seen entry against entry_variance ≤ MATCH_SIGMAS²)?"""
    return statement.matches(measure_numpy(statement.through, images), entry_variance(statement, domain))


def observed(graph: FactorGraph, images) -> np.ndarray:
    """images [..., n, H, W] (torch or numpy) → bool [..., m]: does each image keep each of the riddle's
    m observations (`keeps`)?"""
    seen = observations(graph)
    arr = images.detach().float().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if not seen:
        return np.ones(arr.shape[:-3] + (0,), bool)
    index = {n: i for i, n in enumerate(graph.names)}
    return np.stack([keeps(s, graph.unknowns[index[s.unknown]].domain, arr[..., index[s.unknown], :, :])
                     for s in seen], -1)


def observation_report(graph: FactorGraph, images: np.ndarray, kept: np.ndarray) -> list[dict]:
    """Per observation: what was seen and how the restarts' images kept it."""
    index = {n: i for i, n in enumerate(graph.names)}
    out = []
    for k, s in enumerate(observations(graph)):
        measured = measure_numpy(s.through, images[:, index[s.unknown]])
        variance = entry_variance(s, graph.unknowns[index[s.unknown]].domain)
        rms, chi2 = s.rms(measured), s.chi2(measured, variance)
        out.append({"line": s.span.line, "unknown": s.unknown, "path": s.path, "noise": s.noise,
                    "through": [i.text() for i in s.through],
                    "seen_pixels": int(s.seen.sum()), "threshold_chi2": MATCH_SIGMAS ** 2,
                    "expected_rms": float(np.sqrt((variance * s.seen).sum() / s.seen.sum())),
                    "chi2_median": float(np.median(chi2)),
                    "rms_median": float(np.median(rms)), "mse_median": float(np.median(rms ** 2)),
                    "kept": int(kept[:, k].sum()), "restarts": int(len(rms))})
    return out


def accepts(graph: FactorGraph, symbolic: SymbolicResult, labels: np.ndarray) -> np.ndarray:
    """labels [A, B, n] → bool [A, B]: is each tuple a solution under the truth tables?"""
    flat = labels.reshape(-1, labels.shape[-1])
    if symbolic.solutions is not None:
        sols = symbolic.solutions
        hit = np.zeros(len(flat), bool)
        for i in range(0, len(sols), 4096):                   # chunked: [rows, solutions, n] stays small
            hit |= (flat[:, None, :] == sols[None, i:i + 4096, :]).all(-1).any(1)
    else:
        uniq, inv = np.unique(flat, axis=0, return_inverse=True)
        ok = np.array([not satisfies(graph, tuple(u)) for u in uniq])
        hit = ok[inv.reshape(-1)]
    return hit.reshape(labels.shape[:-1])
