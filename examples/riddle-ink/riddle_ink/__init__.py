"""riddle-ink: an example plugin package for riddle (see docs/PREDICATES.md).

Two neural predicates of `digit`, registered the two ways riddle offers:

* `bold` — a plain differentiable function of the image batch that returns probabilities. It is not
  a function of the digit's label, so it has no truth table: the symbolic oracle leaves it out and
  only the solver weighs it.
* `square` — an nn.Module returning logits, with a truth table (0, 1, 4, 9 are squares): it reads
  the bundled label classifier, so it needs no training of its own.
"""
import torch
from torch import nn

import riddle

INK_THRESHOLD = 0.5
BOLD_SHARE = 0.17        # share of ink pixels above which a digit is bold: 19 % of the bundled MNIST digits are


@riddle.predicate("bold", returns="probability",
                  description="thick strokes: more than 17 % of the pixels are ink (example plugin riddle-ink)")
def bold(images: torch.Tensor) -> torch.Tensor:
    """images [N, 28, 28] in [0, 1] → P(bold) [N], smooth so that the solver gets a gradient."""
    ink = torch.sigmoid((images - INK_THRESHOLD) * 12).mean(dim=(1, 2))       # soft share of ink pixels
    return torch.sigmoid((ink - BOLD_SHARE) * 60)


class Square(nn.Module):
    """P(label in {0, 1, 4, 9}) from the bundled label classifier, as a logit."""

    squares = (0, 1, 4, 9)

    def __init__(self):
        super().__init__()
        self.classifier = riddle.default_registry().domains["digit"].load_classifier()
        mask = torch.zeros(10, dtype=torch.bool)
        mask[list(self.squares)] = True
        self.register_buffer("mask", mask)

    def forward(self, images: torch.Tensor) -> torch.Tensor:     # [N, 28, 28] → logits [N]
        logits = self.classifier(images)
        return torch.logsumexp(logits[:, self.mask], -1) - torch.logsumexp(logits[:, ~self.mask], -1)


riddle.register_predicate("square", load=Square, truth_table=Square.squares, returns="logit",
                          description="the digit is a perfect square: 0, 1, 4, 9 (example plugin riddle-ink)")
