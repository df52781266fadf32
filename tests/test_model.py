"""The network's shared-(t, label) fast path (eps_at) against its per-example forward pass.

eps_at splits the first layer by what its columns multiply and keeps a rearranged copy of
the weights, so these tests check it against forward() everywhere the split could go wrong,
and after every way the weights change.
"""

from __future__ import annotations

import threading

import pytest
import torch

from explainer.model import EpsNetwork, ModelConfig
from explainer.schedules import ProcessConfig, make_schedule

NULL = 3  # the null label of a 3-class network


def make_network(process: str = "ddpm", seed: int = 4, **config: int) -> tuple[EpsNetwork, int]:
    schedule = make_schedule(ProcessConfig(process))
    network = EpsNetwork(ModelConfig(num_classes=3, seed=seed, **config), schedule).eval()
    return network, schedule.T


def points(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed)) * 2.0


def forward_at(network: EpsNetwork, x: torch.Tensor, t: int, label: int) -> torch.Tensor:
    with torch.no_grad():
        return network(x, torch.full((len(x),), t), torch.full((len(x),), label))


def assert_float32_equal(fast: torch.Tensor, full: torch.Tensor) -> None:
    """Equal up to float32 rounding: both sum the same products, in different orders (and
    eps_at folds 2 pi into the frequencies). A wrong split is off by ~the output's size."""
    scale = max(1.0, full.abs().max().item())
    torch.testing.assert_close(fast, full, rtol=0.0, atol=1e-5 * scale)


@pytest.mark.parametrize(("process", "depth", "hidden"), [
    ("ddpm", 3, 128), ("random_walk", 3, 128), ("ddpm", 1, 128),
    ("ddpm", 2, 8),  # narrower than the 2 + 64 position features
])
def test_eps_at_equals_forward_for_every_label_including_null(process: str, depth: int,
                                                              hidden: int) -> None:
    net, T = make_network(process, depth=depth, hidden=hidden)
    x = points(500)
    for t in (1, T // 3, T):
        for label in range(NULL + 1):
            assert_float32_equal(net.eps_at(x, t, label), forward_at(net, x, t, label))
    # And it does depend on t and on the label (a fast path that ignored them would pass
    # the loop above only if forward ignored them too).
    assert not torch.allclose(net.eps_at(x, 1, 0), net.eps_at(x, T, 0), atol=1e-3)
    assert not torch.allclose(net.eps_at(x, 5, 0), net.eps_at(x, 5, 1), atol=1e-3)
    assert not torch.allclose(net.eps_at(x, 5, 0), net.eps_at(x, 5, NULL), atol=1e-3)


@pytest.mark.parametrize("block", ["x", "sin", "cos", "time", "label", "bias"])
def test_each_block_of_the_first_layer_reaches_eps_at_like_forward(block: str) -> None:
    """Changing only the first layer's columns for x, sin, cos, time or label (or its bias)
    changes eps_at, and exactly as it changes forward: each block multiplies what it should,
    and eps_at's copy of the weights follows an in-place change."""
    net, T = make_network()
    n_fourier, n_time = net.config.fourier_features, net.config.time_dim
    start = {"x": 0, "sin": 2, "cos": 2 + n_fourier, "time": 2 + 2 * n_fourier,
             "label": 2 + 2 * n_fourier + n_time}
    width = {"x": 2, "sin": n_fourier, "cos": n_fourier, "time": n_time,
             "label": net.config.label_dim}
    first = net.mlp[0]
    x = points(300)
    before = net.eps_at(x, 7, 1)
    with torch.no_grad():
        if block == "bias":
            first.bias += 0.5
        else:
            first.weight[:, start[block]:start[block] + width[block]] += 0.5
    after = net.eps_at(x, 7, 1)
    assert (after - before).abs().max() > 1e-2
    assert_float32_equal(after, forward_at(net, x, 7, 1))


def test_eps_at_follows_the_weights_through_training_and_loading() -> None:
    net, T = make_network()
    x = points(200)
    keys = set(net.state_dict())
    net.eps_at(x, 10, 0)  # builds eps_at's copy of the weights
    assert set(net.state_dict()) == keys  # the copy is not part of a checkpoint

    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    loss = net(x, torch.full((200,), 10), torch.zeros(200, dtype=torch.long)).square().mean()
    loss.backward()
    optimizer.step()
    assert_float32_equal(net.eps_at(x, 10, 0), forward_at(net, x, 10, 0))

    other, _ = make_network(seed=5)
    net.load_state_dict(other.state_dict())
    assert_float32_equal(net.eps_at(x, 10, 0), forward_at(other, x, 10, 0))


def test_eps_at_takes_any_batch_size_and_returns_a_fresh_tensor() -> None:
    net, T = make_network()
    results = []
    for n in (1, 7, 300, 7):
        x = points(n, seed=n)
        eps = net.eps_at(x, 20, 2)
        assert eps.shape == (n, 2) and eps.is_contiguous()
        assert_float32_equal(eps, forward_at(net, x, 20, 2))
        results.append((eps, eps.clone()))
    # eps_at reuses its activation buffers: no call may overwrite an earlier result.
    for eps, copy in results:
        assert torch.equal(eps, copy)


def test_eps_at_from_several_threads_at_once() -> None:
    """The server samples from one cached network in several threads: each thread's
    activations must be its own."""
    net, T = make_network()
    calls: list[tuple[torch.Tensor, int, int, torch.Tensor]] = []

    def sample_like(k: int) -> None:
        x = points(500, seed=k)  # one batch size: the buffers would fit any thread's
        for t in range(1, T + 1, 3):
            calls.append((x, t, k % (NULL + 1), net.eps_at(x, t, k % (NULL + 1))))

    threads = [threading.Thread(target=sample_like, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 4 * len(range(1, T + 1, 3))
    for x, t, label, eps in calls:
        assert_float32_equal(eps, forward_at(net, x, t, label))


def test_the_walks_time_embedding_tells_its_smallest_noise_levels_apart() -> None:
    """The random walk's network embeds sigma_t / sigma_T = sqrt(t / T), not t / T: at
    T = 65,536, t = 4 and t = 16 (sigma 0.05 and 0.1, where a blob's width is decided)
    would otherwise differ by 0.02% of the time range and look alike to the network.
    Doubling sigma there should move the embedding about as far as doubling it at the
    top of the range (t = T / 4 -> T)."""
    network, T = make_network("random_walk")

    def distance(a: int, b: int) -> float:
        features = network.time_features(torch.tensor([a, b]))
        return float((features[0] - features[1]).norm())

    assert distance(4, 16) > 0.5 * distance(T // 4, T)
    assert distance(4, 16) > 1.0  # the embedding's rows have norm 4 (16 sin-cos pairs)


def test_forward_with_a_table_of_time_features_is_forward_without() -> None:
    """Training passes time features looked up in a table of every t; the network
    computes them itself otherwise. Both must give the same eps_hat, and a wrong table
    (another t's rows) must not."""
    network, T = make_network("random_walk")
    table = network.time_features(torch.arange(T + 1))
    t = torch.tensor([1, 2, 7, T // 3, T])
    y = torch.tensor([0, 1, 2, 3, 0])
    x = points(len(t))
    with torch.no_grad():
        computed = network(x, t, y)
        torch.testing.assert_close(network(x, t, y, table[t]), computed, rtol=0, atol=0)
        assert not torch.allclose(network(x, t, y, table[t.flip(0)]), computed)
