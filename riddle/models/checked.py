"""A network handed over by a plugin, as riddle uses it (see riddle.plugins): one logit per image,
its shape, range and differentiability checked on the first batch it sees."""
from __future__ import annotations

import torch
from torch import nn

from .registry import PluginError, plugin_frame


class CheckedPredicate(nn.Module):
    """A plugin's network as riddle uses it: returns a logit per image; checks shape, range and
    differentiability on the first batch it sees."""

    def __init__(self, network, name: str, origin: str, returns: str):
        super().__init__()
        self.inner = network if isinstance(network, torch.nn.Module) else None
        self.function = None if self.inner is not None else network
        self.name, self.origin, self.returns = name, origin, returns
        self.checked = False            # shape and range seen right once
        self.grad_checked = False       # differentiability seen once, on a batch that carries gradients

    def forward(self, x):
        try:
            out = self.inner(x) if self.inner is not None else self.function(x)
        except Exception as e:
            where = plugin_frame(e)
            raise PluginError(f"{self.origin}: predicate `{self.name}` failed on a batch of images "
                              f"{list(x.shape)}: {type(e).__name__}: {e}{where}") from None
        if not self.checked or (x.requires_grad and not self.grad_checked):
            self._check(x, out)
        if out.dim() == 2:
            out = out[:, 0]
        if self.returns == "probability":
            p = out.clamp(1e-6, 1 - 1e-6)
            out = torch.log(p) - torch.log1p(-p)
        return out

    def _check(self, x, out) -> None:
        what = f"{self.origin}: predicate `{self.name}`"
        if not isinstance(out, torch.Tensor):
            raise PluginError(f"{what} returned {type(out).__name__}, expected a torch tensor of shape [{len(x)}]")
        if not (tuple(out.shape) == (len(x),) or tuple(out.shape) == (len(x), 1)):
            raise PluginError(f"{what} returned shape {list(out.shape)} for {len(x)} images; expected [{len(x)}] "
                              "(one value per image)")
        if not torch.isfinite(out).all():
            raise PluginError(f"{what} returned NaN or infinite values")
        # a probability computed in floating point (a sum of softmax entries, say) may pass 1 by a few
        # units of its last place; that is rounding, not a logit (the forward pass clamps it anyway)
        slack = 8 * torch.finfo(out.dtype).eps if out.is_floating_point() else 0.0
        if self.returns == "probability" and ((out < -slack) | (out > 1 + slack)).any():
            lo, hi = float(out.min()), float(out.max())
            raise PluginError(f"{what} says it returns probabilities, but returned values in [{lo:.3g}, {hi:.3g}], "
                              "outside [0, 1]; register it with returns=\"logit\" if these are logits")
        if x.requires_grad:
            if not out.requires_grad:
                raise PluginError(f"{what} returned values that do not depend differentiably on the images; the "
                                  "solver follows gradients, so write it with torch operations (no numpy, no .item())")
            self.grad_checked = True
        self.checked = True
