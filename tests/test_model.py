"""The network's shared-(t, label) fast path against its per-example forward pass."""

import pytest
import torch

from explainer.model import EpsNetwork, ModelConfig
from explainer.schedules import ProcessConfig, make_schedule


@pytest.mark.parametrize(("process", "depth"), [("ddpm", 3), ("random_walk", 3), ("ddpm", 1)])
def test_eps_at_equals_forward_for_every_label_including_null(process: str, depth: int) -> None:
    schedule = make_schedule(ProcessConfig(process))
    net = EpsNetwork(ModelConfig(num_classes=3, depth=depth, seed=4), schedule).eval()
    x = torch.randn(500, 2, generator=torch.Generator().manual_seed(0)) * 2.0
    for t in (1, schedule.T // 3, schedule.T):
        for label in range(4):  # 3 is the null label
            full = net(x, torch.full((500,), t), torch.full((500,), label))
            fast = net.eps_at(x, t, label)
            assert torch.allclose(fast, full, atol=1e-5), (t, label)
    # And it does depend on t and on the label (a fast path that ignored them would pass
    # the loop above only if forward ignored them too).
    assert not torch.allclose(net.eps_at(x, 1, 0), net.eps_at(x, schedule.T, 0), atol=1e-3)
    assert not torch.allclose(net.eps_at(x, 5, 0), net.eps_at(x, 5, 1), atol=1e-3)
