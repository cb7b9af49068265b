"""Named presets: one function per task, setting only what differs from the paper defaults.

Each docstring says its values and where they come from; the figures measured with them live in
docs/ (quickstart.md, paper_tasks.md, emoji.md) beside the commands that measured them.
"""

from __future__ import annotations

from typing import Callable

from enot.config.sections import Config, ConfigError


def _colored_mnist() -> Config:
    """The embedded default: colored MNIST 2 -> 3 at 32 px, sized to train on 2 CPU cores.

    Narrow networks (U-Net base 16, ResNet_D nfilter 8) and batch 32, so that 2,400 steps fit
    a 2-core CPU's time budget of about ten minutes. T is residual (--t-residual), starting near
    the identity: colour is kept from the first step and only the shape has to be learnt. lr 6e-3
    for T and 9e-4 for g, beta2 0.99, --gauge 0.1 to hold the potential's free level, and an EMA
    of 0.99. Losses are logged every 25 steps; the
    judge runs every 400 steps, beside the samples and checkpoints, and picks export_best by the
    class rate; it skips FID and KID (--eval-fid off), which on 50 test digits cannot rank maps
    and would cost an Inception pass each time. The runs that decided each value, and what they
    measured: docs/quickstart.md.
    """
    cfg = Config(preset="colored_mnist")
    cfg.data.image_size = 32
    cfg.t_net.base_channels = 16
    cfg.t_net.residual = True
    cfg.g_net.nfilter = 8
    cfg.enot.gauge = 0.1
    cfg.train.steps = 2400
    cfg.train.batch_size = 32
    cfg.train.log_every = 25
    cfg.train.sample_every = 400
    cfg.train.checkpoint_every = 400
    cfg.train.eval_every = 400
    cfg.train.eval_fid = False
    cfg.train.ema_decay = 0.99
    cfg.optim.lr_t = 6e-3
    cfg.optim.lr_g = 9e-4
    cfg.optim.beta2 = 0.99
    return cfg


# Paper tasks. Default data paths are relative to the working directory, under DATA_ROOT;
# scripts/prepare_data.py check --preset NAME says what is missing and where to get it.
DATA_ROOT = "datasets"


def _paper(name: str, image_size: int, dataset: str, source: str, target: str) -> Config:
    """The ENOT paper's image setting (arXiv 2403.03777, Sec. 5 and App. C) at ``image_size``.

    Everything but the size and the precision is the dataclass defaults, which are the paper's:
    T = U-Net base 48 and g = ResNet_D nfilter 64 (App. C; the architectures of NOT, Korotin et
    al. 2023, whose ResNet_D has log2(size/4) stages: 4 at 64 px, 5 at 128 px); cost
    ||x-y||^2/(3*size), tau 0.98, lambda 1.0 (App. C); AdamW betas (0.5, 0.5), weight decay
    1e-4, lr T 1e-4 and g 5e-5 with cosine decay to 1e-2 of the start (App. C); batch 64 and
    120,000 steps (App. C). bf16 mixed precision is this project's GPU recipe, not a
    paper value; pass --mixed-precision no for full fp32. num_workers 2 DataLoader workers per
    domain: enough to keep a GPU step fed (measured per data format and GPU in
    docs/paper_tasks.md, "Before renting a GPU").
    """
    cfg = Config(preset=name)
    cfg.data.image_size = image_size
    cfg.data.dataset, cfg.data.source, cfg.data.target = dataset, source, target
    cfg.train.mixed_precision = "bf16"
    cfg.data.num_workers = 2
    return cfg


def _handbags2shoes_128() -> Config:
    """Handbags -> shoes at 128 px from the iGAN HDF5 files (a NOT task the ENOT paper repeats)."""
    return _paper(
        "handbags2shoes_128",
        128,
        "igan_hdf5",
        f"{DATA_ROOT}/handbag_128.hdf5",
        f"{DATA_ROOT}/shoes_128.hdf5",
    )


def _ffhq2comics_128() -> Config:
    """FFHQ -> comics at 128 px; comics (Kaggle comic faces v2) flip in training only."""
    return _paper("ffhq2comics_128", 128, "ffhq", f"{DATA_ROOT}/ffhq", f"comics:{DATA_ROOT}/comics")


def _celeba2anime(image_size: int) -> Callable[[], Config]:
    def make() -> Config:
        """CelebA female (Male == -1) -> aligned anime faces, as in NOT and ENOT."""
        return _paper(
            f"celeba2anime_{image_size}",
            image_size,
            "celeba_female",
            f"{DATA_ROOT}/celeba",
            f"anime_faces:{DATA_ROOT}/anime",
        )

    return make


def _fashion_bags2shoes() -> Config:
    """CPU-scale analogue of handbags -> shoes: Fashion-MNIST bag -> sneaker+ankle boot+sandal.

    Not a paper task. Everything but the data is colored_mnist's (networks, optimiser, steps),
    sized for 2 CPU cores, except that T draws gray images (--t-gray): both domains are gray, and
    a colour T invents is penalised by FID but no loss holds it back quickly (docs/paper_tasks.md,
    Fashion-MNIST). export_best is picked by the shoe-class rate. FID is tracked on 200
    test images per domain; `scripts/evaluate.py` scores all of them. Reads
    /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist) or datasets/fashion-mnist;
    `--source bag@FOLDER` points elsewhere.
    """
    cfg = _colored_mnist()
    cfg.preset = "fashion_bags2shoes"
    cfg.data.dataset = "fashion_mnist"
    cfg.data.source = "bag"
    cfg.data.target = "shoes"
    cfg.t_net.gray = True
    cfg.train.eval_images = 200
    cfg.train.eval_fid = True
    return cfg


EMOJI_ROOT = f"{DATA_ROOT}/emoji"  # written by `scripts/prepare_data.py emoji`


def _emoji_32() -> Config:
    """Noto Emoji -> Twemoji at 32 px: real colour images whose every test image has a true
    answer (the same codepoint in the other set), sized for 2 CPU cores.

    The folders correspond by name (``paired_folder``): the split is the same codepoints in both
    domains, and the pairs serve the judge only, since training draws the two domains
    independently. Emoji are composited on white. Networks and optimiser are colored_mnist's
    but for --lr-g equal to --lr-t, which keeps the potential steep enough to move the
    map. --flip is on (a mirrored emoji is still an emoji in its style).
    --steps 1,200 with one judgement at the end (--eval-every 1,200: an Inception pass over the
    374 test emoji) fit the 2-core budget of ten minutes, with samples and checkpoints every 200
    steps (--sample-every, --checkpoint-every); export_best is picked by the style rate
    (``enot.evaluation.paired_judge``). The runs that decided each value: docs/emoji.md.
    """
    cfg = _colored_mnist()
    cfg.preset = "emoji_32"
    cfg.data.dataset = "paired_folder"
    cfg.data.source, cfg.data.target = f"{EMOJI_ROOT}/noto", f"{EMOJI_ROOT}/twemoji"
    cfg.data.flip = True
    cfg.optim.lr_g = cfg.optim.lr_t
    cfg.train.steps = cfg.train.eval_every = 1200
    cfg.train.sample_every = cfg.train.checkpoint_every = 200
    return cfg


def _emoji_64() -> Config:
    """Noto Emoji -> Twemoji at 64 px with the paper's networks and settings, for a GPU; --flip
    on, as at 32 px."""
    cfg = _paper("emoji_64", 64, "paired_folder", f"{EMOJI_ROOT}/noto", f"{EMOJI_ROOT}/twemoji")
    cfg.data.flip = True
    return cfg


PRESETS: dict[str, Callable[[], Config]] = {
    "colored_mnist": _colored_mnist,
    "handbags2shoes_128": _handbags2shoes_128,
    "ffhq2comics_128": _ffhq2comics_128,
    "celeba2anime_64": _celeba2anime(64),
    "celeba2anime_128": _celeba2anime(128),
    "fashion_bags2shoes": _fashion_bags2shoes,
    "emoji_32": _emoji_32,
    "emoji_64": _emoji_64,
}


def get_preset(name: str) -> Config:
    try:
        return PRESETS[name]()
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
