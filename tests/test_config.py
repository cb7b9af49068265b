"""Config: presets, round trips through JSON, and CLI validation."""

import json

import pytest

from enot.config import PRESETS, Config, ConfigError, get_preset, load_config, save_config
from enot.config.cli import parse_cli


def test_defaults_are_the_paper_image_setting():
    c = Config()
    assert (c.t_net.base_channels, c.g_net.nfilter, c.g_net.nfilter_max) == (48, 64, 512)
    assert (c.enot.tau, c.enot.lam, c.method.cost) == (0.98, 1.0, "sq_l2_per_size")
    assert (c.optim.lr_t, c.optim.lr_g, c.optim.beta1, c.optim.beta2) == (1e-4, 5e-5, 0.5, 0.5)
    assert (c.optim.final_lr_ratio, c.train.batch_size, c.train.steps) == (1e-2, 64, 120_000)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_round_trips_through_json(tmp_path, name):
    cfg = get_preset(name)
    save_config(cfg, tmp_path / "c.json")
    assert load_config(tmp_path / "c.json") == cfg


def test_flags_override_the_preset_and_run_dir_defaults_to_preset():
    cfg, opts = parse_cli(["--lr-t", "2e-4", "--no-flip", "--steps", "7"], "t")
    assert cfg.optim.lr_t == 2e-4 and cfg.train.steps == 7 and cfg.data.flip is False
    assert cfg.run_dir.as_posix() == "runs/colored_mnist"
    assert opts.resume is None and not opts.dry_run


def test_cross_field_checks():
    with pytest.raises(ConfigError, match="power of two"):
        parse_cli(["--image-size", "48"], "t")
    with pytest.raises(ConfigError, match="exceeds --g-nfilter-max"):
        parse_cli(["--g-nfilter", "64", "--g-nfilter-max", "32"], "t")
    with pytest.raises(ConfigError, match="--stop-at 9"):
        parse_cli(["--steps", "5", "--stop-at", "9"], "t")


def test_unknown_preset_and_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        get_preset("nope")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(tmp_path / "bad.json")
    (tmp_path / "old.json").write_text('{"preset": "x", "data": {}}')
    with pytest.raises(ConfigError, match="does not match"):
        load_config(tmp_path / "old.json")


def test_architecture_names_the_shape_fields():
    a, b = get_preset("colored_mnist"), get_preset("colored_mnist")
    b.optim.lr_t = 1.0
    assert a.architecture() == b.architecture()
    b.t_net.base_channels = 99
    assert a.architecture() != b.architecture()


def test_the_network_fields_keep_their_flat_flags():
    """The fields drop their section's prefix (t_net.base_channels); flags and the
    architecture's keys keep it (--t-base-channels), so every flat name stays unique."""
    cfg, _ = parse_cli(["--t-base-channels", "8", "--g-nfilter-max", "256", "--no-t-residual"], "t")
    assert (cfg.t_net.base_channels, cfg.g_net.nfilter_max, cfg.t_net.residual) == (8, 256, False)
    assert cfg.architecture()["t_base_channels"] == 8 and cfg.architecture()["g_nfilter"] == 8
    assert set(cfg.to_dict()["t_net"]) == {"base_channels", "residual", "gray"}


def test_the_cost_is_the_methods_and_its_former_name_still_loads(tmp_path):
    cfg, _ = parse_cli(["--method", "not", "--cost", "pixel_mse"], "t")
    assert cfg.method.cost == "pixel_mse" and not hasattr(cfg.enot, "cost")
    # A config saved when sq_l2_per_size was called image_mse: the cost it names still runs.
    saved = Config().to_dict()
    saved["method"]["cost"] = "image_mse"
    (tmp_path / "saved.json").write_text(json.dumps(saved))
    loaded = load_config(tmp_path / "saved.json")
    assert loaded.method.cost == "sq_l2_per_size" and loaded == Config()
    # A layout no release wrote (the cost in the enot section) is refused, not guessed at.
    moved = Config().to_dict()
    moved["enot"]["cost"] = moved["method"].pop("cost")
    (tmp_path / "moved.json").write_text(json.dumps(moved))
    with pytest.raises(ConfigError, match="does not match this version of the code"):
        load_config(tmp_path / "moved.json")


def test_the_config_names_what_the_method_knows():
    """The config holds names only; the method's modules map them to functions."""
    from enot.config.sections import AE_COST_NAMES, COST_ALIASES, COST_NAMES, METHODS
    from enot.costs import COSTS
    from enot.not_ae import ae_cost

    assert COST_NAMES == tuple(COSTS) and set(COST_ALIASES.values()) <= set(COSTS)
    assert all(callable(ae_cost(name)) for name in AE_COST_NAMES if name != "lpips")
    assert METHODS == ("enot", "not", "not_convex", "not_ae")
    with pytest.raises(SystemExit):  # argparse's usage error: a name outside the literal
        parse_cli(["--cost", "l1"], "t")


@pytest.mark.parametrize(
    "section, name, value",
    [
        ("method", "method", "cyclegan"),
        ("method", "cost", "l3"),
        ("train", "best_by", "lpips"),
        ("train", "mixed_precision", "fp8"),
    ],
)
def test_a_saved_config_with_an_unknown_name_is_refused(section, name, value):
    d = get_preset("colored_mnist").to_dict()
    d[section][name] = value
    with pytest.raises(ConfigError, match=rf"{section}\.{name} is '{value}'.*choose one of"):
        Config.from_dict(d)


def test_the_potentials_options_are_off_by_default_and_travel_with_the_export(tmp_path):
    from enot.export import load_export, write_export
    from enot.training.networks import build_networks

    for name in sorted(PRESETS):
        assert (get_preset(name).enot.r1, get_preset(name).enot.diff_augment) == (0.0, False)
    cfg, _ = parse_cli(["--r1", "0.5", "--diff-augment", "--t-base-channels", "4"], "t")
    assert (cfg.enot.r1, cfg.enot.diff_augment) == (0.5, True)
    T, g = build_networks(cfg)
    loaded = load_export(write_export(tmp_path / "export", T, g, None, cfg, step=3))
    assert (loaded.config.enot.r1, loaded.config.enot.diff_augment) == (0.5, True)
    with pytest.raises(SystemExit):
        parse_cli(["--r1", "-1"], "t")
