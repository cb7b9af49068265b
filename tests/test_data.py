"""Tests for the data package: normalisation, split rule, image folders, colored MNIST, registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from data import (
    DATASET_KINDS,
    ColoredMNIST,
    CorruptImageError,
    DatasetError,
    ImageFolder,
    build_domain,
    center_crop_resize,
    from_model,
    load_image,
    split_range,
    to_model,
    to_unit,
)
from data.colored_mnist import digit_colors


def _in_range(x: torch.Tensor) -> bool:
    return x.dtype == torch.float32 and x.min() >= -1.0 and x.max() <= 1.0


def _save_rgb(path, value, size=(12, 8)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, value).save(path)


# --- normalisation -------------------------------------------------------------------------------


def test_uint8_round_trip_is_exact():
    pixels = torch.arange(256, dtype=torch.uint8).repeat(3, 2, 1)  # [3, 2, 256]
    model = to_model(pixels)
    assert _in_range(model) and model.min() == -1.0 and model.max() == 1.0
    assert torch.equal(from_model(model), pixels)
    assert torch.equal(to_model(pixels.numpy()), model)
    unit = to_unit(model)
    assert unit.min() == 0.0 and unit.max() == 1.0


def test_from_model_clamps_and_rounds_batches():
    x = torch.tensor([-3.0, -1.0, 0.0, 1.0, 5.0]).view(1, 1, 1, 5)
    assert from_model(x).tolist() == [[[[0, 0, 128, 255, 255]]]]
    assert to_unit(x).flatten().tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]
    with pytest.raises(ValueError):
        from_model(torch.zeros(5))
    with pytest.raises(TypeError):
        to_model(torch.zeros(3, 2, 2))  # float input is ambiguous, refused


def test_pil_image_becomes_chw():
    img = Image.new("RGB", (5, 3), (255, 0, 128))
    x = to_model(img)
    assert x.shape == (3, 3, 5)
    assert x[:, 0, 0].tolist() == pytest.approx([1.0, -1.0, 128 / 127.5 - 1], abs=1e-6)


@pytest.mark.parametrize("mode", ["RGBA", "L", "LA", "P", "1"])
def test_pil_modes_give_rgb(tmp_path, mode):
    path = tmp_path / f"img_{mode}.png"
    Image.new("RGB", (10, 6), (200, 100, 50)).convert(mode).save(path)
    x = load_image(path, 4)
    assert x.shape == (3, 4, 4) and _in_range(x)


def _half_transparent(path, stored=(0, 0, 0), size=8):
    """Left half fully transparent over ``stored`` colour, right half opaque red, half-alpha
    blue in the top-right corner."""
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[:, :, :3] = stored
    rgba[:, size // 2 :] = (255, 0, 0, 255)
    rgba[0, -1] = (0, 0, 255, 128)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgba, "RGBA").save(path)
    return path


@pytest.mark.parametrize(
    "background, expected",
    [("white", (255, 255, 255)), ("black", (0, 0, 0)), ("#336699", (0x33, 0x66, 0x99))],
)
def test_transparent_pixels_show_the_background_in_training_data(tmp_path, background, expected):
    _half_transparent(tmp_path / "folder" / "a.png")
    _half_transparent(tmp_path / "folder" / "b.png", stored=(0, 255, 0))
    for kind in ("folder", "paired_folder"):
        ds = build_domain(kind, str(tmp_path / "folder"), 8, "train", background=background)
        for i in range(len(ds)):
            px = from_model(ds[i])
            assert px[:, :, 0].T.tolist() == [list(expected)] * 8  # not the stored colour
            assert px[:, 4, 5].tolist() == [255, 0, 0]
            half = [round((c + b) / 2) for c, b in zip((0, 0, 255), expected)]
            assert px[:, 0, 7].tolist() == pytest.approx(half, abs=1)


def test_rgba_with_opaque_alpha_equals_its_rgb(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (6, 6, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(np.dstack([rgb, np.full((6, 6), 255, np.uint8)]), "RGBA").save(
        tmp_path / "rgba.png"
    )
    assert torch.equal(load_image(tmp_path / "rgb.png", 6), load_image(tmp_path / "rgba.png", 6))


def test_bad_background_is_named(tmp_path):
    _save_rgb(tmp_path / "f" / "a.png", (1, 2, 3))
    with pytest.raises(DatasetError, match="'grey' is not a colour: use white, black or #rrggbb"):
        build_domain("folder", str(tmp_path / "f"), 8, "train", background="grey")


def test_paired_folders_split_by_name_alike_and_apart(tmp_path):
    from data.split import in_test_by_name

    names = [f"{i:05x}" for i in range(200)]
    for side, value in (("a", (10, 20, 30)), ("b", (200, 100, 0))):
        for n in names:
            _save_rgb(tmp_path / side / f"{n}.png", value)
    (tmp_path / "b" / "LICENSE.md").write_text("not an image")
    splits = {
        (side, split): build_domain("paired_folder", str(tmp_path / side), 8, split)
        for side in "ab"
        for split in ("train", "test")
    }
    test_a, test_b = splits["a", "test"].names, splits["b", "test"].names
    assert test_a == test_b == [n for n in names if in_test_by_name(n)]
    assert 10 <= len(test_a) <= 30  # about one in ten
    assert not set(test_a) & set(splits["a", "train"].names)
    assert len(test_a) + len(splits["b", "train"].names) == len(names)
    # Not the last names in sorted order, as the plain folder split would take.
    assert test_a != names[-len(test_a) :]


def test_16_bit_gradient_uses_full_range_without_saturating(tmp_path):
    gradient = np.linspace(0, 65535, 64 * 64).round().astype(np.uint16).reshape(64, 64)
    path = tmp_path / "deep.png"
    Image.fromarray(gradient).save(path)
    with Image.open(path) as img:
        assert img.mode.startswith("I")
        x = to_model(img)
    assert x.shape == (3, 64, 64) and _in_range(x)
    pixels = from_model(x)[0].flatten()
    assert pixels.min() == 0 and pixels.max() == 255
    # clipping at 255 would make ~99.6% of the gradient white; scaling keeps it spread out
    assert (pixels == 255).float().mean() < 0.01
    assert len(pixels.unique()) > 200
    assert load_image(path, 16).shape == (3, 16, 16)


def test_cmyk_jpeg(tmp_path):
    path = tmp_path / "print.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path)  # pure red in CMYK
    x = load_image(path, 8)
    assert x.shape == (3, 8, 8) and _in_range(x)
    red, green, blue = from_model(x)[:, 4, 4].tolist()
    assert red > 200 and green < 50 and blue < 50


def test_center_crop_resize_keeps_the_centre():
    img = Image.new("RGB", (30, 10), (0, 0, 0))
    img.paste((255, 255, 255), (10, 0, 20, 10))  # white centre square, black sides
    out = center_crop_resize(img, 5)
    assert out.size == (5, 5) and out.mode == "RGB"
    assert np.asarray(out).min() == 255


# --- split rule ----------------------------------------------------------------------------------


def test_split_range_rule():
    assert split_range(500, "train") == range(0, 450)
    assert split_range(500, "test") == range(450, 500)
    assert split_range(5, "train") == range(0, 4)
    assert split_range(5, "test") == range(4, 5)
    assert split_range(1, "test") == range(0, 1)
    with pytest.raises(DatasetError, match=r"'train'.*\b1 items"):
        split_range(1, "train")
    with pytest.raises(DatasetError, match="split must be"):
        split_range(10, "val")


# --- image folders -------------------------------------------------------------------------------


@pytest.fixture
def nested(tmp_path):
    """Ten images in nested folders with mixed extensions; distinct values reveal the order."""
    root = tmp_path / "domain"
    names = [
        "a.png",
        "b/c.JPG",
        "b/d.webp",
        "b/e/f.png",
        "g.png",
        "h.png",
        "i/j.png",
        "k.png",
        "l.png",
        "z.webp",
    ]
    for rank, name in enumerate(names):
        _save_rgb(root / name, (20 * rank, 0, 0), size=(12 + rank, 8))
    (root / "notes.txt").write_text("not an image")
    _save_rgb(root / ".hidden" / "copy.png", (255, 255, 255))
    return root, names


def test_image_folder_order_split_and_items(nested):
    root, names = nested
    train = ImageFolder(root, 8, "train")
    test = ImageFolder(str(root), 8, "test")
    assert [p.relative_to(root).as_posix() for p in train.paths] == names[:9]
    assert [p.relative_to(root).as_posix() for p in test.paths] == names[9:]
    assert len(train) == 9 and len(test) == 1
    for i in range(len(train)):
        x = train[i]
        assert x.shape == (3, 8, 8) and _in_range(x)
    # lossless files keep their red value: item i really is the i-th sorted file
    assert from_model(train[4])[0, 4, 4] == 20 * 4


def test_flip_only_when_asked(tmp_path):
    root = tmp_path / "half"
    img = Image.new("RGB", (8, 8), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 4, 8))  # left half white
    for i in range(10):
        root.mkdir(exist_ok=True)
        img.save(root / f"{i}.png")
    original = load_image(root / "0.png", 8)

    torch.manual_seed(0)
    plain = ImageFolder(root, 8, "train")
    assert all(torch.equal(plain[0], original) for _ in range(20))

    flipping = ImageFolder(root, 8, "train", flip=True)
    seen = [flipping[0] for _ in range(40)]
    flipped = [torch.equal(x, original.flip(-1)) for x in seen]
    assert any(flipped) and not all(flipped)
    assert all(f or torch.equal(x, original) for f, x in zip(flipped, seen))


def test_missing_and_non_directory_and_empty_roots(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DatasetError, match="does not exist") as err:
        ImageFolder(missing, 8, "train")
    assert str(missing) in str(err.value)

    a_file = tmp_path / "file.png"
    _save_rgb(a_file, (0, 0, 0))
    with pytest.raises(DatasetError, match="not a directory"):
        ImageFolder(a_file, 8, "train")

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="no image files") as err:
        ImageFolder(empty, 8, "train")
    assert str(empty) in str(err.value)

    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "readme.md").write_text("hi")
    with pytest.raises(DatasetError, match="readme.md"):
        ImageFolder(texts, 8, "train")


def test_empty_split_names_the_folder(tmp_path):
    root = tmp_path / "one"
    _save_rgb(root / "only.png", (0, 0, 0))
    assert len(ImageFolder(root, 8, "test")) == 1
    with pytest.raises(DatasetError, match="empty") as err:
        ImageFolder(root, 8, "train")
    assert str(root) in str(err.value)


def test_fake_png_is_reported_at_construction(nested):
    root, _ = nested
    (root / "b" / "bogus.png").write_text("this is not a png")
    (root / "b" / "worse.png").write_bytes(b"\x00" * 10)
    with pytest.raises(CorruptImageError) as err:
        ImageFolder(root, 8, "train")
    message = str(err.value)
    assert str(root / "b" / "bogus.png") in message
    assert "2 unreadable" in message and "worse.png" in message


def test_truncated_png_is_reported_when_read(nested):
    root, names = nested
    victim = root / names[0]
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(
        victim
    )
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    dataset = ImageFolder(root, 8, "train")  # the header survives the cut
    assert dataset[1].shape == (3, 8, 8)
    with pytest.raises(CorruptImageError) as err:
        dataset[0]
    assert str(victim) in str(err.value)


# --- colored MNIST -------------------------------------------------------------------------------


def test_colored_mnist_sizes_range_and_background():
    train, test = ColoredMNIST(2, "train"), ColoredMNIST(2, "test")
    assert len(train) == 450 and len(test) == 50
    assert train.colors.shape == (450, 3) and test.colors.shape == (50, 3)
    x = train[0]
    assert x.shape == (3, 32, 32) and _in_range(x)
    # the 2-pixel padding is background, and background is the bulk of every image
    assert torch.all(train.images[:, :, :2, :] == -1) and torch.all(
        train.images[:, :, :, -2:] == -1
    )
    assert (train.images == -1).float().mean() > 0.5
    assert ColoredMNIST(2, "test", image_size=64)[0].shape == (3, 64, 64)


def test_colored_mnist_digits_are_coloured():
    images = ColoredMNIST(5, "test").images
    unit = to_unit(images)
    bright = unit.amax(dim=1) > 0.5  # [N, H, W] pixels on the stroke
    spread = unit.amax(dim=1) - unit.amin(dim=1)
    assert bright.sum() > 1000
    # saturation >= 0.6 means min channel <= 0.4 * max channel: far from gray
    assert spread[bright].min() > 0.25


def test_colored_mnist_colors_are_seeded_and_fixed_per_image():
    a, b = ColoredMNIST(2, "train", seed=0), ColoredMNIST(2, "train", seed=0)
    assert torch.equal(a.colors, b.colors) and torch.equal(a.images, b.images)
    other = ColoredMNIST(2, "train", seed=1)
    assert not torch.allclose(a.colors, other.colors)
    full = torch.from_numpy(digit_colors(2, 500, seed=0))
    assert torch.equal(ColoredMNIST(2, "test", seed=0).colors, full[-50:])
    assert torch.equal(a.colors, full[:450])
    hsv_value = a.colors.amax(dim=1)
    assert torch.allclose(hsv_value, torch.ones(450))


def test_colored_mnist_tints_draw_each_train_digit_in_more_colours_and_leave_test_alone():
    one, many = ColoredMNIST(2, "train", seed=0), ColoredMNIST(2, "train", seed=0, tints=4)
    assert len(many) == 4 * 450 and many.colors.shape == (1800, 3)
    # the first 450 items are the digits in their own colours: tints=1 is the plain split
    assert all(torch.equal(many[i], one[i]) for i in (0, 1, 449))
    assert torch.equal(many.colors[:450], one.colors)
    # item i is digit i % 450 in colour i: the same stroke, another tint
    gray = lambda x: to_unit(x).amax(dim=0)  # noqa: E731  (the brightest channel is the stroke)
    for i in (450, 1234, 1799, -1):
        torch.testing.assert_close(gray(many[i]), gray(one[i % 450]), atol=1e-6, rtol=0)
        tint = to_unit(many[i]).flatten(1).amax(dim=1)
        torch.testing.assert_close(tint, many.colors[i] * gray(many[i]).max(), atol=1e-5, rtol=0)
    assert (many.colors[450:900] - one.colors).abs().amax(dim=1).min() > 0  # new colours
    assert torch.allclose(many.colors.amax(dim=1), torch.ones(1800))  # still HSV value 1
    assert torch.equal(ColoredMNIST(2, "train", seed=0, tints=4).colors, many.colors)
    with pytest.raises(IndexError):
        many[1800]
    # the test split is the same 50 images whatever tints says
    test = ColoredMNIST(2, "test", seed=0, tints=4)
    assert len(test) == 50 and torch.equal(test.images, ColoredMNIST(2, "test", seed=0).images)
    # and the registry passes tints through to the train split
    assert len(build_domain("colored_mnist", "2", 32, "train", tints=3)) == 1350


@pytest.mark.parametrize("tints", [0, -2, 1.5, True])
def test_colored_mnist_rejects_bad_tints(tints):
    with pytest.raises(DatasetError, match="tints must be an int >= 1"):
        ColoredMNIST(2, "train", tints=tints)


@pytest.mark.parametrize("digit", [-1, 10, 2.0, "2", True])
def test_colored_mnist_rejects_bad_digits(digit):
    with pytest.raises(DatasetError, match="0..9"):
        ColoredMNIST(digit, "train")


# --- registry ------------------------------------------------------------------------------------


def test_build_domain_kinds(nested):
    root, names = nested
    assert DATASET_KINDS[:2] == ("colored_mnist", "folder")  # the paper formats follow
    mnist = build_domain("colored_mnist", "7", 32, "test", seed=3)
    assert isinstance(mnist, ColoredMNIST) and len(mnist) == 50 and mnist.seed == 3
    folder = build_domain("folder", str(root), 16, "train", flip=True)
    assert isinstance(folder, ImageFolder) and len(folder) == 9 and folder.flip
    assert folder[0].shape == (3, 16, 16)


def test_build_domain_errors():
    with pytest.raises(DatasetError, match="colored_mnist, folder") as err:
        build_domain("cifar", "x", 32, "train")
    assert "cifar" in str(err.value)
    with pytest.raises(DatasetError, match="digit"):
        build_domain("colored_mnist", "two", 32, "train")
