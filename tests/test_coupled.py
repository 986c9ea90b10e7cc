"""Seed 003's coupled network (issue 30): one weight set for both directions, the backward pass against
a direct computation, each objective's gradients landing in the shared weights, and training on a
tiny problem."""
import numpy as np
import pytest
import torch

from riddle.models.coupled import CoupledNet, accuracy, losses, train

TINY = (12, 5, 4, 3)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def tiny_net() -> CoupledNet:
    net = CoupledNet(TINY, seed=1)
    with torch.no_grad():                                 # non-zero biases, so a swapped bias would show
        for p in list(net.forward_bias) + list(net.backward_bias):
            p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    return net


def test_one_weight_tensor_per_layer_serves_both_directions():
    net = tiny_net()
    assert len(net.weights) == 3 and [tuple(w.shape) for w in net.weights] == [(5, 12), (4, 5), (3, 4)]
    assert sum(p.numel() for p in net.parameters()) == (12 * 5 + 5 * 4 + 4 * 3) + (5 + 4 + 3) + (12 + 5 + 4)


def test_the_backward_pass_is_the_transposed_chain_of_expectations():
    net = tiny_net()
    W = [w.detach().double().numpy() for w in net.weights]
    b = [p.detach().double().numpy() for p in net.forward_bias]
    c = [p.detach().double().numpy() for p in net.backward_bias]
    y = np.eye(3)[[2, 0]]
    g2 = sigmoid(y @ W[2] + c[2])
    g1 = sigmoid(g2 @ W[1] + c[1])
    x = sigmoid(g1 @ W[0] + c[0])
    got = net.down(torch.tensor(y, dtype=torch.float32), 3).detach().double().numpy()
    assert np.allclose(got, x, atol=1e-6)
    xin = np.random.default_rng(0).random((2, 12))
    h1 = sigmoid(xin @ W[0].T + b[0])
    h2 = sigmoid(h1 @ W[1].T + b[1])
    logits = h2 @ W[2].T + b[2]
    assert np.allclose(net(torch.tensor(xin, dtype=torch.float32)).detach().double().numpy(), logits, atol=1e-5)


def test_recursive_sampling_draws_binary_hidden_layers_and_is_seeded():
    net = tiny_net()
    y = torch.eye(3)[[1, 1, 1, 1]]
    a = net.down(y, 3, sample=2, generator=torch.Generator().manual_seed(3))
    b = net.down(y, 3, sample=2, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == (4, 12)
    assert not torch.allclose(a, net.down(y, 3))                       # sampled, not the mean shape


@pytest.mark.parametrize("objective, backward_reaches", [("discriminative", False), ("generative", True),
                                                         ("reverse", True)])
def test_each_direction_s_gradient_lands_in_the_shared_weights(objective, backward_reaches):
    net = tiny_net()
    x = torch.rand(6, 12, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    fwd, bwd = losses(net, x, y, objective, torch.Generator().manual_seed(0))
    fwd.backward(retain_graph=True)
    assert all(w.grad is not None and w.grad.abs().sum() > 0 for w in net.weights)
    net.zero_grad()
    if backward_reaches:
        bwd.backward()
        touched = [w.grad is not None and w.grad.abs().sum() > 0 for w in net.weights]
        # generative: the class layer's weights start the backward chain; reverse starts at h_2
        assert touched == ([True, True, True] if objective == "generative" else [True, True, False])
        assert net.backward_bias[0].grad.abs().sum() > 0
    else:
        assert float(bwd) == 0.0


def test_generative_training_learns_both_directions_on_a_separable_toy():
    """Three classes, each a noisy bar pattern: the forward model classifies held-out copies and the
    backward model's mean image of each class is nearest to that class's pattern."""
    g = torch.Generator().manual_seed(0)
    patterns = torch.zeros(3, 28, 28)
    patterns[0, 4:8] = 1
    patterns[1, :, 10:14] = 1
    patterns[2, 20:24] = 1

    def data(n):
        y = torch.randint(0, 3, (n,), generator=g)
        return (patterns[y] * 0.8 + 0.2 * torch.rand(n, 28, 28, generator=g)).clamp(0, 1), y
    x, y = data(300)
    xv, yv = data(90)
    net, history = train(x, y, "generative", epochs=20, batch=32, lr=3e-3, sizes=(784, 64, 64, 3), val=(xv, yv))
    assert history.epochs[-1]["val_accuracy"] == 1.0 and accuracy(net, xv, yv) == 1.0
    assert history.epochs[-1]["backward"] < history.epochs[0]["backward"]
    with torch.no_grad():
        means = net.generate(torch.arange(3))                                         # [3, 28, 28]
    distance = ((means[:, None] - patterns[None]) ** 2).sum((-1, -2))                 # [class, pattern]
    assert distance.argmin(1).tolist() == [0, 1, 2]


# ── the model family (`models coupled`) ─────────────────────────────────────

def test_label_sampler_draws_the_prior_given_the_argmax():
    from riddle.models.coupled import CoupledLabelSampler
    s = CoupledLabelSampler(classes=4, latent=9)
    labels = torch.tensor([0, 1, 2, 3] * 50)
    noise = torch.randn(200, 9, generator=torch.Generator().manual_seed(0))
    xi, log_q = s.sample(labels, noise)
    assert torch.equal(xi[:, :4].argmax(-1), labels)
    # only a permutation of the class coordinates: the rest of the draw is the noise as it was
    assert torch.equal(xi[:, 4:], noise[:, 4:])
    assert torch.equal(xi[:, :4].sort(-1).values, noise[:, :4].sort(-1).values)
    normal = torch.distributions.Normal(0.0, 1.0).log_prob(xi).sum(-1)
    assert torch.allclose(log_q, normal + np.log(4), atol=1e-4)                  # 4 × the prior inside its cell
    assert torch.allclose(s.log_prob(xi, labels), log_q, atol=1e-4)
    assert torch.isinf(s.log_prob(xi, (labels + 1) % 4)).all()                   # 0 outside it


def test_generator_draws_the_seeds_one_sampled_layer():
    from riddle.models.coupled import CoupledGenerator, CoupledLabelSampler
    net = tiny_net()
    gen = CoupledGenerator(net, temperature=0.01, top_sharpness=1.5, sharpness=1.0)
    assert gen.latent == 3 + 4
    label = torch.full((20_000,), 2)
    xi, _ = CoupledLabelSampler(3, gen.latent).sample(label, torch.randn(20_000, 7,
                                                                          generator=torch.Generator().manual_seed(1)))
    with torch.no_grad():
        top = gen.top(xi)
        images = gen(xi)
        a = net.weights[2][2] + net.backward_bias[2]                               # the class's pre-activations [4]
        expected = torch.sigmoid(1.5 * a)                                           # Bernoulli(σ(β a)) per unit
    assert ((top < 0.02) | (top > 0.98)).float().mean() > 0.97                  # binary but for a few per cent
    assert torch.allclose(top.mean(0), expected, atol=0.015)
    # below the sampled layer: expectations, as CoupledNet.down from that layer
    assert torch.allclose(images, net.down(top, 2), atol=1e-6)
    assert images.shape == (20_000, 12)


def test_the_class_is_exactly_one_hot_and_passes_its_gradient_straight_through():
    from riddle.models.coupled import CoupledGenerator
    gen = CoupledGenerator(tiny_net(), class_temperature=1.0)
    xi = torch.randn(5, 7, generator=torch.Generator().manual_seed(2)).requires_grad_()
    c = gen.classes_of(xi)
    assert torch.equal(c.detach(), torch.nn.functional.one_hot(xi[:, :3].argmax(-1), 3).float())
    gen(xi).sum().backward()
    assert (xi.grad[:, :3].abs().sum(-1) > 0).all()          # every restart can move towards another class
