"""The memory counter of `benchmarks.step_memory`: fake tensors count what real ones use."""

import pytest

from benchmarks.step_memory import measure_step
from enot.config import Config


def _small(batch: int, precision: str = "no") -> Config:
    cfg = Config()
    cfg.data.image_size = 32
    cfg.t_net.base_channels, cfg.g_net.nfilter = 8, 8
    cfg.train.batch_size = batch
    cfg.train.mixed_precision = precision
    return cfg


def test_fake_tensors_count_the_bytes_of_the_real_step():
    assert measure_step(_small(4), fake=True) == measure_step(_small(4), fake=False)


def test_the_parts_add_up_to_what_a_step_holds():
    m = measure_step(_small(4))
    n_tensors = sum(1 for _ in _networks_params())
    assert m.grads == m.params  # every weight gets a gradient of its own dtype
    # AdamW: two fp32 moments per weight and one scalar step counter per tensor.
    assert m.optimizer_state == 2 * m.params + 4 * n_tensors
    assert m.peak > m.params + m.grads + m.optimizer_state
    assert m.activations > 0


def test_activations_grow_with_the_batch_and_halve_in_bf16():
    a4, a8 = measure_step(_small(4)).activations, measure_step(_small(8)).activations
    assert a8 == pytest.approx(2 * a4, rel=0.05)
    bf16 = measure_step(_small(8, "bf16")).activations
    assert 0.4 * a8 < bf16 < 0.65 * a8


def _networks_params():
    from enot.training.networks import build_networks

    T, g = build_networks(_small(4))
    yield from T.parameters()
    yield from g.parameters()
