"""`python -m explainer bench --quick` runs end to end and prints every table."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_bench_quick_prints_every_table() -> None:
    result = subprocess.run([sys.executable, "-m", "explainer", "bench", "--quick"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for heading in ("Interactive costs", "Shipped checkpoints", "Guidance on the spiral",
                    "Learned vs ideal field", "Training from scratch", "Text prompts at w = 3",
                    "Text model + text-conditioned denoiser", "Pictures (exact Wiener"):
        assert heading in out
    # Pictures: a row of per-band power ratios per process and sampler; no-noise keeps
    # almost none of the finest band's power, DDPM most of it.
    finest = {tuple(line.split()[:2]): float(line.split()[-1]) for line in out.splitlines()
              if line.split()[:1] in (["ddpm"], ["random_walk"]) and len(line.split()) == 6}
    assert finest[("ddpm", "no_noise")] < 0.1 < 0.8 < finest[("ddpm", "ddpm")]
    # The shipped-checkpoint table has the exact denoiser's no-noise spread beside the
    # network's, and quick mode skips the random walk's minute-long DDPM over all of T.
    assert "exact no-noise" in out.splitlines()[
        next(i for i, line in enumerate(out.splitlines()) if line.startswith("checkpoint"))]
    assert "DDPM 65536 steps" not in out
    # The guidance table has a row per w; at w = 3 the mean share is a percentage.
    row = next(line for line in out.splitlines() if line.strip().startswith("3.0"))
    assert row.rstrip().endswith("%")
