"""Sheet cells read by the label classifier: the evidence of a ReadFactor (graph/build.py).

A cell of a sheet with ink is a picture of its unknown, written by the user: riddle draws nothing
there. What the picture says about the label is the classifier's reading, P(label | picture):
the mean of its softmax over the picture and a fixed set of distortions of it (test-time augmentation,
models/views.fixed_views), at the temperature that calibrates that mean on the classifier's own validation
split (the card's `reading`, fitted by `riddle train --only calibration`; one view at temperature 1 where a
card has none) — not the logic's tempered one — and the joint logic weighs each valid board by the product
of its cells' readings, so a misread given that no valid board allows is read again in the light of the
rules (docs/LANGUAGE.md, "Sheets").
Calibration matters there: at temperature 1 the bundled classifier misreads a held-out 7 as a 2 while
giving 7 a probability of 3·10⁻⁸, which no rule can outweigh (1·10⁻⁴ calibrated, 0.18 over 16 views).
"""
from __future__ import annotations

import numpy as np
import torch

from ..graph.build import FactorGraph
from ..models.views import fixed_views
from ..models.zoo import outputs_of


@torch.no_grad()
def read_cells(graph: FactorGraph, classifiers: dict | None = None) -> FactorGraph:
    """The graph with every unread cell read: one classifier call per domain, in float32 (the same
    reading on every CPU). `classifiers`: domain name → its label classifier (default: each domain's own)."""
    if not graph.unread:
        return graph
    by_domain: dict[str, list] = {}
    names = {u.name: u for u in graph.unknowns}
    for f in graph.reads:
        if f.evidence is None:
            by_domain.setdefault(names[f.scope[0]].domain.name, []).append(f)
    evidence = {}
    for domain_name, cells in by_domain.items():
        domain = names[cells[0].scope[0]].domain
        net = (classifiers or {}).get(domain_name) or domain.load_classifier()
        x = torch.as_tensor(np.stack([f.pixels for f in cells]), dtype=torch.float32)            # [N, H, W]
        params = list(net.parameters()) if isinstance(net, torch.nn.Module) else []
        x = x.to(params[0].device) if params else x
        reading = (domain.load_reading() if domain.load_reading else None) or {}
        temperature, views = float(reading.get("temperature", 1.0)), int(reading.get("views", 0))
        seen = fixed_views(x, views)                                                              # [V + 1, N, H, W]
        logits = torch.stack([outputs_of(net, v)[:, :len(domain.labels)].double() for v in seen])  # [V + 1, N, L]
        probs = (logits / temperature).softmax(-1).mean(0).cpu().numpy()                         # [N, L]
        evidence.update({f.id: p for f, p in zip(cells, probs)})
    return graph.with_readings(evidence)
