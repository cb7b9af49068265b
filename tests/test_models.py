"""Behaviour of the models package: shapes, architecture invariants, save/load."""

from __future__ import annotations

import copy
import json
import math
import shutil

import pytest
import torch
from torch import nn

from models import MLP, MODEL_CLASSES, ModelLoadError, ResNetD, UNet, load_model
from models.resnet_d import ResNetBlock


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _small_models():
    return {
        "UNet": (UNet(in_channels=3, out_channels=3, base_channels=8), torch.randn(2, 3, 32, 32)),
        "ResNetD": (ResNetD(image_size=32, in_channels=3, nfilter=8), torch.randn(2, 3, 32, 32)),
        "MLP": (MLP(in_dim=2, hidden=(16, 16), out_dim=2, activation="silu"), torch.randn(5, 2)),
    }


def _public(config):
    # diffusers adds bookkeeping keys (_name_or_path, ...) on save/load.
    return {k: v for k, v in config.items() if not k.startswith("_")}


# --- UNet -------------------------------------------------------------------


@pytest.mark.parametrize("size", [32, 64])
def test_unet_preserves_shape(size):
    model = UNet(in_channels=3, out_channels=3, base_channels=8)
    x = torch.randn(2, 3, size, size)
    assert model(x).shape == x.shape


def test_unet_channel_change_and_widths():
    model = UNet(in_channels=1, out_channels=4, base_channels=8)
    assert model(torch.randn(1, 1, 32, 32)).shape == (1, 4, 32, 32)
    # Bilinear bottleneck is 16b // 2 wide.
    assert model.down4.maxpool_conv[1].double_conv[3].out_channels == 64


def test_unet_has_batchnorm_and_linear_output():
    model = UNet(in_channels=3, out_channels=3, base_channels=8)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    last = list(model.modules())[-1]
    assert isinstance(last, nn.Conv2d) and last.kernel_size == (1, 1)
    with torch.no_grad():
        model.outc.conv.weight.mul_(100.0)
    model.eval()
    out = model(torch.randn(2, 3, 32, 32))
    # tanh/sigmoid would clamp this.
    assert out.abs().max() > 1.0


def test_residual_unet_starts_near_identity_and_round_trips(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(4, 3, 32, 32)
    plain = UNet(in_channels=3, out_channels=3, base_channels=4).eval()
    residual = UNet(in_channels=3, out_channels=3, base_channels=4, residual=True).eval()
    with torch.no_grad():
        near = (residual(x) - x).abs().mean().item()
        far = (plain(x) - x).abs().mean().item()
    assert near < 0.2 * far
    residual.save_pretrained(tmp_path / "r")
    back = load_model(tmp_path / "r", expected=UNet).eval()
    assert back.config.residual is True
    with torch.no_grad():
        torch.testing.assert_close(back(x), residual(x))


def test_gray_unet_draws_one_channel_and_round_trips(tmp_path):
    torch.manual_seed(0)
    gray = torch.randn(4, 1, 32, 32).expand(-1, 3, -1, -1)
    colour = torch.randn(4, 3, 32, 32)
    T = UNet(in_channels=3, out_channels=3, base_channels=4, residual=True, gray_output=True).eval()
    with torch.no_grad():
        out = T(colour)
        near = (T(gray) - gray).abs().mean().item()
    assert out.shape == colour.shape
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])
    # Residual: the correction is added to the channel mean, so a gray input starts near itself.
    assert near < 0.2 * gray.abs().mean().item()
    assert T.outc.conv.out_channels == 1
    T.save_pretrained(tmp_path / "g")
    back = load_model(tmp_path / "g", expected=UNet).eval()
    assert back.config.gray_output is True
    with torch.no_grad():
        torch.testing.assert_close(back(colour), out)


def test_residual_unet_needs_equal_channels():
    with pytest.raises(ValueError, match="same channels"):
        UNet(in_channels=3, out_channels=1, base_channels=4, residual=True)


def test_unet_rejects_size_not_divisible_by_16():
    model = UNet(in_channels=3, out_channels=3, base_channels=8)
    with pytest.raises(ValueError, match=r"divisible by 16.*30x30"):
        model(torch.randn(1, 3, 30, 30))


# --- ResNetD ----------------------------------------------------------------


@pytest.mark.parametrize("size", [32, 64])
def test_resnet_d_scalar_output_and_stage_count(size):
    model = ResNetD(image_size=size, in_channels=3, nfilter=8)
    assert model(torch.randn(3, 3, size, size)).shape == (3,)
    pools = [m for m in model.modules() if isinstance(m, nn.AvgPool2d)]
    assert len(pools) == int(math.log2(size / 4))


def test_resnet_d_has_no_norm_layers():
    model = ResNetD(image_size=32, in_channels=3, nfilter=8)
    norms = (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d)
    assert not any(isinstance(m, norms) for m in model.modules())


def test_resnet_d_width_cap():
    model = ResNetD(image_size=64, in_channels=3, nfilter=8, nfilter_max=32)
    widths = [m.conv_1.out_channels for m in model.modules() if isinstance(m, ResNetBlock)]
    assert max(widths) == 32
    assert model.fc.in_features == 32 * 4 * 4


def test_resnet_block_residual_scale():
    block = ResNetBlock(4, 4, res_ratio=0.1)
    with torch.no_grad():
        for conv in (block.conv_0, block.conv_1):
            conv.weight.zero_()
            conv.bias.zero_()
        x = torch.randn(2, 4, 8, 8)
        # Zero residual branch: the block is lrelu(identity).
        assert torch.allclose(block(x), nn.functional.leaky_relu(x, 0.2))
        # Constant residual c enters at res_ratio * c.
        block.conv_1.bias.fill_(1.0)
        assert torch.allclose(block(x), nn.functional.leaky_relu(x + 0.1, 0.2))


def test_resnet_block_learned_shortcut_only_on_width_change():
    assert ResNetBlock(4, 4).conv_s is None
    widen = ResNetBlock(4, 8)
    assert widen.conv_s.bias is None and widen.conv_s.kernel_size == (1, 1)
    with torch.no_grad():
        for conv in (widen.conv_0, widen.conv_1):
            conv.weight.zero_()
            conv.bias.zero_()
        x = torch.randn(2, 4, 8, 8)
        assert torch.allclose(widen(x), nn.functional.leaky_relu(widen.conv_s(x), 0.2))


@pytest.mark.parametrize("size", [0, 3, 48, 100])
def test_resnet_d_rejects_bad_image_size(size):
    with pytest.raises(ValueError, match="power of two"):
        ResNetD(image_size=size, in_channels=3, nfilter=8)


def test_resnet_d_rejects_wrong_input_size():
    model = ResNetD(image_size=32, in_channels=3, nfilter=8)
    with pytest.raises(ValueError, match=r"32, 32.*64, 64"):
        model(torch.randn(1, 3, 64, 64))


# --- MLP --------------------------------------------------------------------


def test_mlp_shapes():
    assert MLP(in_dim=2, hidden=[8], out_dim=1)(torch.randn(7, 2)).shape == (7,)
    assert MLP(in_dim=2, hidden=[8, 8], out_dim=3)(torch.randn(7, 2)).shape == (7, 3)


def test_mlp_config_stores_hidden_as_list():
    assert MLP(in_dim=2, hidden=(8, 4), out_dim=1).config.hidden == [8, 4]


def test_mlp_rejects_unknown_activation():
    with pytest.raises(ValueError, match="tanh"):
        MLP(in_dim=2, hidden=[8], out_dim=1, activation="tanh")


# --- save / load --------------------------------------------------------------


@pytest.mark.parametrize("name", ["UNet", "ResNetD", "MLP"])
def test_round_trip(tmp_path, name):
    model, x = _small_models()[name]
    model.train()
    model(x)  # moves BatchNorm running stats away from their init
    model.eval()
    model.save_pretrained(tmp_path)
    loaded = load_model(tmp_path, expected=MODEL_CLASSES[name])
    assert type(loaded) is MODEL_CLASSES[name]
    assert not loaded.training
    assert _public(loaded.config) == _public(model.config)
    # What a round trip must preserve, bit for bit: every weight and buffer.
    saved, back = model.state_dict(), loaded.state_dict()
    assert saved.keys() == back.keys()
    for key, value in saved.items():
        assert back[key].dtype == value.dtype and torch.equal(back[key], value), key
    # And the same function. The loader allocates its tensors itself, not at the 64-byte
    # alignment of torch's CPU allocator, and the vectorised CPU kernels (oneDNN, AVX-512 or
    # AVX2) sum in an order that follows a weight's address: equal weights at other addresses
    # can give outputs that differ in the last bits. A copy of the loaded model holds its weights
    # in fresh allocations, as the original does, so both outputs take the same kernel path.
    same_path = copy.deepcopy(loaded)
    with torch.no_grad():
        assert torch.equal(same_path(x), model(x))


def test_load_missing_folder(tmp_path):
    path = tmp_path / "nope"
    with pytest.raises(ModelLoadError, match="not found") as err:
        load_model(path)
    assert str(path) in str(err.value)


def test_load_folder_without_config(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ModelLoadError) as err:
        load_model(tmp_path)
    msg = str(err.value)
    assert (
        str(tmp_path) in msg
        and "config.json" in msg
        and "notes.txt" in msg
        and "safetensors" in msg
    )


def test_load_empty_folder(tmp_path):
    with pytest.raises(ModelLoadError, match="no config.json") as err:
        load_model(tmp_path)
    assert str(tmp_path) in str(err.value)


def test_load_junk_config(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="not valid JSON") as err:
        load_model(tmp_path)
    assert str(tmp_path) in str(err.value)


def test_load_unknown_class(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"_class_name": "os.system"}))
    with pytest.raises(ModelLoadError, match="unknown model class 'os.system'") as err:
        load_model(tmp_path)
    assert str(tmp_path) in str(err.value)


def test_load_missing_weights(tmp_path):
    MLP(in_dim=2, hidden=[4], out_dim=1).save_pretrained(tmp_path)
    (tmp_path / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="weights file") as err:
        load_model(tmp_path)
    assert str(tmp_path) in str(err.value)


def test_load_weights_of_other_width(tmp_path):
    small, big = tmp_path / "small", tmp_path / "big"
    UNet(in_channels=3, out_channels=3, base_channels=4).save_pretrained(small)
    UNet(in_channels=3, out_channels=3, base_channels=8).save_pretrained(big)
    weights = "diffusion_pytorch_model.safetensors"
    shutil.copy(big / weights, small / weights)
    with pytest.raises(ModelLoadError) as err:
        load_model(small)
    msg = str(err.value)
    assert str(small) in msg
    assert "inc.double_conv.0.weight" in msg and "shape mismatch" in msg


def test_load_expected_class_mismatch(tmp_path):
    MLP(in_dim=2, hidden=[4], out_dim=1).save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match="holds a MLP, expected a UNet") as err:
        load_model(tmp_path, expected=UNet)
    assert str(tmp_path) in str(err.value)


# --- paper sizes --------------------------------------------------------------


def test_paper_sizes_build_and_run():
    unet = UNet(in_channels=3, out_channels=3, base_channels=48)
    # Korotin's NOT U-Net at base 48: encoder widths 48-96-192-384, 768 at the bottom.
    assert [m.out_channels for m in unet.modules() if isinstance(m, torch.nn.Conv2d)][:2] == [
        48,
        48,
    ]
    with torch.no_grad():
        out = unet(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 3, 64, 64) and torch.isfinite(out).all()
    stages = {}
    for size in (64, 128):
        critic = ResNetD(image_size=size, in_channels=3, nfilter=64)
        assert critic.fc.in_features == 512 * 4 * 4
        with torch.no_grad():
            score = critic(torch.randn(2, 3, size, size))
        assert score.shape[0] == 2 and score.numel() == 2 and torch.isfinite(score).all()
        stages[size] = sum(1 for m in critic.modules() if type(m).__name__ == "ResNetBlock")
    # WGAN-QC ResNet_D: one more stage at 128 px than at 64 (log2(size / 4) halvings).
    assert stages[128] > stages[64] > 0


def test_channels_last_networks_give_the_contiguous_answers():
    from enot.config import get_preset
    from enot.training.networks import build_networks

    def built(channels_last: bool):
        cfg = get_preset("colored_mnist")
        cfg.t_net.base_channels, cfg.g_net.nfilter = 8, 8
        cfg.train.channels_last = channels_last
        torch.manual_seed(0)
        return build_networks(cfg)

    (t_cl, g_cl), (t_c, g_c) = built(True), built(False)
    x = torch.randn(4, 3, 32, 32)
    assert t_cl.inc.double_conv[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert t_cl.inc(x).is_contiguous(memory_format=torch.channels_last)
    assert g_cl.conv_img.weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(t_cl(x), t_c(x), atol=1e-5)
    assert torch.allclose(g_cl(x), g_c(x), atol=1e-5)
    # Weights are stored the same either way: a state dict loads across layouts.
    t_c.load_state_dict(t_cl.state_dict())
