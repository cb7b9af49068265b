"""The paper tasks' data formats, on small files written exactly as users download them.

Each format test checks the domain sizes, the split rule (test = last 10% in sorted order), the
value range and the image size; the bad-input tests check that the error names the file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from format_fixtures import (
    CELEBA_ATTRIBUTES,
    level,
    save_image,
    value,
    write_celeba,
    write_fashion,
    write_idx,
    write_igan_hdf5,
)
from PIL import Image

from data import DATASET_KINDS, CorruptImageError, DatasetError, build_domain
from data.fashion_mnist import read_idx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import prepare_data  # noqa: E402


def _check_items(ds, size: int, levels: list[int], tol: float = 0.0) -> None:
    """Every item is float32 [3, size, size] in [-1, 1] at the expected level, in order."""
    assert len(ds) == len(levels)
    for item, want in zip(ds, levels):
        assert item.dtype == torch.float32 and item.shape == (3, size, size)
        assert item.min() >= -1.0 and item.max() <= 1.0
        assert abs(level(item) - want) <= tol + 1e-3


def _splits(kind: str, spec: str, size: int, **kw):
    return [build_domain(kind, spec, size, split, **kw) for split in ("train", "test")]


def test_new_kinds_are_dataset_choices():
    for kind in (
        "igan_hdf5",
        "celeba_female",
        "anime_faces",
        "ffhq",
        "comics",
        "fashion_mnist",
        "packed",
    ):
        assert kind in DATASET_KINDS


# --- iGAN HDF5 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [8, 16])
def test_igan_hdf5_sizes_split_range_and_resize(tmp_path, size):
    path = write_igan_hdf5(tmp_path / "handbag_16.hdf5", n=25, side=16)
    train, test = _splits("igan_hdf5", str(path), size)
    assert (len(train), len(test)) == (22, 3)  # int(25 * 0.9) = 22
    _check_items(train, size, [value(i) for i in range(22)])
    _check_items(test, size, [value(i) for i in range(22, 25)])


def test_igan_hdf5_resize_is_bilinear(tmp_path):
    import h5py

    ramp = np.tile(np.linspace(0, 255, 16).astype(np.uint8)[None, :, None], (16, 1, 3))
    with h5py.File(tmp_path / "ramp.hdf5", "w") as f:
        f.create_dataset("imgs", data=np.stack([ramp] * 10))
    item = build_domain("igan_hdf5", str(tmp_path / "ramp.hdf5"), 32, "train")[0]
    row = item[0, 5]
    assert torch.all(row[1:] >= row[:-1])  # a ramp stays monotone: interpolated, not nearest
    assert len(row.unique()) > 16


def test_igan_hdf5_wrong_key_names_file_and_keys(tmp_path):
    path = write_igan_hdf5(tmp_path / "shoes_64.hdf5", n=4, side=8, key="images")
    with pytest.raises(DatasetError, match=r"shoes_64\.hdf5 has no dataset 'imgs'.*'images'"):
        build_domain("igan_hdf5", str(path), 8, "train")


def test_igan_hdf5_bad_files(tmp_path):
    missing = tmp_path / "handbag_128.hdf5"
    with pytest.raises(DatasetError, match=r"handbag_128\.hdf5 does not exist.*iGAN"):
        build_domain("igan_hdf5", str(missing), 8, "train")
    (tmp_path / "fake.hdf5").write_bytes(b"not hdf5 at all")
    with pytest.raises(DatasetError, match=r"fake\.hdf5 is not a readable HDF5 file"):
        build_domain("igan_hdf5", str(tmp_path / "fake.hdf5"), 8, "train")
    import h5py

    with h5py.File(tmp_path / "float.hdf5", "w") as f:
        f.create_dataset("imgs", data=np.zeros((4, 8, 8, 3), np.float32))
    with pytest.raises(DatasetError, match=r"float\.hdf5.*float32.*expected uint8"):
        build_domain("igan_hdf5", str(tmp_path / "float.hdf5"), 8, "train")


# --- CelebA female -------------------------------------------------------------------------------

MALE = {0, 3, 4, 9, 12, 17, 20, 21, 26}  # 30 images, 21 female


def _female(n: int = 30) -> list[int]:
    return [i for i in range(n) if i not in MALE]


def test_celeba_female_official_layout(tmp_path):
    write_celeba(tmp_path / "celeba", 30, MALE)
    text = (tmp_path / "celeba" / "list_attr_celeba.txt").read_text().splitlines()
    assert text[0] == "30" and len(text[1].split()) == 40 and len(text[2].split()) == 41
    train, test = _splits("celeba_female", str(tmp_path / "celeba"), 16)
    female = _female()
    assert (len(train), len(test)) == (18, 3)  # 21 female: int(21 * 0.9) = 18
    assert [p.name for p in test.paths] == [f"{i + 1:06d}.jpg" for i in female[18:]]
    _check_items(train, 16, [value(i) for i in female[:18]], tol=2)  # JPEG rounding
    _check_items(test, 16, [value(i) for i in female[18:]], tol=2)


def test_celeba_is_resized_whole_like_the_paper_code(tmp_path):
    root = write_celeba(tmp_path / "celeba", 12, MALE)
    band = Image.new("RGB", (178, 218), (0, 0, 0))
    band.paste((255, 255, 255), (0, 0, 178, 20))  # a top band that a centre crop would drop
    band.save(root / "img_align_celeba" / "000002.jpg", quality=98)
    first = build_domain("celeba_female", str(root), 16, "train")[0]
    assert first[:, 0].mean() > 0.9 and first[:, -1].mean() < -0.9


def test_celeba_column_is_found_by_name_and_kaggle_layout(tmp_path):
    shuffled = tuple(reversed(CELEBA_ATTRIBUTES))  # Male no longer at index 20
    write_celeba(tmp_path / "a", 30, MALE, columns=shuffled)
    images, attrs = tmp_path / "a" / "img_align_celeba", tmp_path / "a" / "list_attr_celeba.txt"
    explicit = build_domain("celeba_female", f"{images},{attrs}", 8, "train")
    write_celeba(tmp_path / "k", 30, MALE, kaggle=True)
    kaggle = build_domain("celeba_female", str(tmp_path / "k"), 8, "train")
    want = [f"{i + 1:06d}.jpg" for i in _female()[:18]]
    assert [p.name for p in explicit.paths] == want == [p.name for p in kaggle.paths]


def test_celeba_missing_male_column_names_the_file(tmp_path):
    columns = tuple(c for c in CELEBA_ATTRIBUTES if c != "Male")
    write_celeba(tmp_path / "c", 12, MALE, columns=columns)
    with pytest.raises(DatasetError, match=r"list_attr_celeba\.txt has no 'Male' column"):
        build_domain("celeba_female", str(tmp_path / "c"), 8, "train")


def test_celeba_bad_attribute_files_and_missing_images(tmp_path):
    root = write_celeba(tmp_path / "c", 12, MALE)
    attrs = root / "list_attr_celeba.txt"
    lines = attrs.read_text().splitlines()
    attrs.write_text("\n".join(lines[:-1]) + "\n")  # count line says 12, 11 rows remain
    with pytest.raises(DatasetError, match=r"list_attr_celeba\.txt says 12 images"):
        build_domain("celeba_female", str(root), 8, "train")
    attrs.write_text("\n".join(lines[:5] + [lines[5] + " 1"] + lines[6:]) + "\n")
    with pytest.raises(DatasetError, match=r"list_attr_celeba\.txt line 6: 41 values"):
        build_domain("celeba_female", str(root), 8, "train")
    attrs.write_text("\n".join(lines) + "\n")
    (root / "img_align_celeba" / "000002.jpg").unlink()  # image 1 is female
    with pytest.raises(DatasetError, match=r"1 of the 8 female images.*first: 000002\.jpg"):
        build_domain("celeba_female", str(root), 8, "train")
    with pytest.raises(DatasetError, match=r"CelebA folder .*nowhere does not exist.*CelebA"):
        build_domain("celeba_female", str(tmp_path / "nowhere"), 8, "train")


# --- image folders: anime, FFHQ, comics ----------------------------------------------------------

NESTED = [
    "a/x01.png",
    "a/x02.JPG",
    "a/x02.png",
    "b/deep/x03.webp",
    "b/x04.bmp",
    "c.jpeg",
    "d/e/f/x06.PNG",
    "x07.tif",
    "x08.png",
    "x09.jpg",
    "z/x10.png",
    "z/x11.png",
]


def _nested(root: Path) -> Path:
    for i, name in enumerate(NESTED):
        save_image(root / name, i)
    (root / "notes.txt").write_text("not an image")
    (root / "a" / ".hidden.png").write_bytes(b"resource fork")
    return root


@pytest.mark.parametrize("kind", ["anime_faces", "ffhq", "folder"])
def test_nested_folders_with_mixed_extensions(tmp_path, kind):
    root = _nested(tmp_path / "faces")
    train, test = _splits(kind, str(root), 8)
    order = sorted(range(len(NESTED)), key=lambda i: NESTED[i])
    assert (len(train), len(test)) == (10, 2)  # int(12 * 0.9) = 10
    _check_items(train, 8, [value(i) for i in order[:10]], tol=2)
    _check_items(test, 8, [value(i) for i in order[10:]], tol=2)


def _kaggle_comics(root: Path, n: int = 10) -> Path:
    inner = root / "face2comics_v2.0.0_by_Sxela" / "face2comics_v2.0.0_by_Sxela"
    for i in range(n):
        save_image(inner / "comics" / f"{i}.jpg", i, (24, 24))
        save_image(inner / "faces" / f"{i}.jpg", 200, (24, 24))
    return root


def test_comics_uses_the_comics_side_and_flips_in_training_only(tmp_path):
    root = _kaggle_comics(tmp_path / "kaggle", n=20)
    train, test = _splits("comics", str(root), 8)
    assert (len(train), len(test)) == (18, 2)
    assert all(p.parent.name == "comics" for p in train.paths + test.paths)
    assert train.flip and not test.flip
    # an asymmetric image shows both orientations in training, one in test
    half = train.paths[0]
    img = Image.new("RGB", (24, 24), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 12, 24))
    img.save(half)
    torch.manual_seed(0)
    seen = {tuple(train[0][0, 0, [0, -1]].tolist()) for _ in range(20)}
    assert seen == {(1.0, -1.0), (-1.0, 1.0)}
    assert [level(x) for x in test] == pytest.approx(
        [value(int(p.stem)) for p in test.paths], abs=2
    )


def test_comics_layout_errors(tmp_path):
    with pytest.raises(DatasetError, match=r"comics folder .*none does not exist.*Kaggle"):
        build_domain("comics", str(tmp_path / "none"), 8, "train")
    save_image(tmp_path / "flat" / "x.png", 0)
    with pytest.raises(DatasetError, match=r"expected one comics/ folder under .*flat, found 0"):
        build_domain("comics", str(tmp_path / "flat"), 8, "train")


def test_folder_with_zero_readable_images_names_it(tmp_path):
    (tmp_path / "anime").mkdir()
    (tmp_path / "anime" / "readme.txt").write_text("empty download")
    with pytest.raises(DatasetError, match=r"no image files .* under .*anime; it holds readme"):
        build_domain("anime_faces", str(tmp_path / "anime"), 8, "train")
    for i in range(3):
        (tmp_path / "ffhq" / f"{i}.png").parent.mkdir(exist_ok=True)
        (tmp_path / "ffhq" / f"{i}.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(
        CorruptImageError,
        match=r"2 unreadable image file.*train split of .*ffhq"
        r"; first: .*ffhq/0\.png",
    ):
        build_domain("ffhq", str(tmp_path / "ffhq"), 8, "train")
    with pytest.raises(DatasetError, match=r"ffhq folder .*missing does not exist.*FFHQ"):
        build_domain("ffhq", str(tmp_path / "missing"), 8, "train")


def test_undecodable_image_is_named_when_read(tmp_path):
    root = _nested(tmp_path / "anime")
    path = root / "a" / "x02.png"
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path)
    path.write_bytes(path.read_bytes()[:6000])  # header intact, pixels cut off
    ds = build_domain("anime_faces", str(root), 8, "train")
    assert ds.paths[2] == path  # sorted: a/x01.png, a/x02.JPG, a/x02.png, ...
    ds[1]
    with pytest.raises(CorruptImageError, match=r"cannot decode image .*x02\.png"):
        ds[2]


# --- Fashion-MNIST IDX ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["debian_gz", "torchvision_raw", "plain_raw"])
def test_fashion_mnist_idx_layouts(tmp_path, layout):
    folder = {
        "debian_gz": tmp_path / "fashion-mnist",
        "torchvision_raw": tmp_path / "tv" / "FashionMNIST" / "raw",
        "plain_raw": tmp_path / "plain",
    }[layout]
    parts = write_fashion(folder, gz=layout == "debian_gz")
    where = {"torchvision_raw": tmp_path / "tv"}.get(layout, folder)
    levels = {}
    for name, classes in (("bag", (8,)), ("shoes", (7, 9, 5))):
        chosen = []
        for part, offset in (("train", 0), ("t10k", 60)):
            labels = parts[part][1]
            chosen += [value(offset + i) for i in range(len(labels)) if labels[i] in classes]
        levels[name] = chosen
    bag_train, bag_test = _splits("fashion_mnist", f"bag@{where}", 32)
    assert (len(bag_train), len(bag_test)) == (7, 1)  # 6 + 2 bags: int(8 * 0.9) = 7
    shoes_train, shoes_test = _splits("fashion_mnist", f"shoes@{where}", 16)
    assert (len(shoes_train), len(shoes_test)) == (21, 3)  # 24 shoes
    # 28 px padded with black to 32, so the level is scaled by the inner area
    area = 28 * 28 / 32 / 32
    _check_items(bag_train, 32, [v * area for v in levels["bag"][:7]], tol=0.01)
    _check_items(bag_test, 32, [v * area for v in levels["bag"][7:]], tol=0.01)
    _check_items(shoes_test, 16, [v * area for v in levels["shoes"][21:]], tol=1.0)
    x = shoes_train[0]
    assert torch.equal(x[0], x[1]) and torch.equal(x[1], x[2])  # gray -> RGB


def test_fashion_mnist_class_names_and_indices(tmp_path):
    write_fashion(tmp_path)
    by_name = build_domain("fashion_mnist", f"sneaker+ankle_boot+sandal@{tmp_path}", 32, "train")
    by_index = build_domain("fashion_mnist", f"7+9+5@{tmp_path}", 32, "train")
    assert torch.equal(by_name.pixels, by_index.pixels)
    with pytest.raises(DatasetError, match="unknown Fashion-MNIST class 'hat'"):
        build_domain("fashion_mnist", f"hat@{tmp_path}", 32, "train")


def test_idx_reader_round_trip_and_bad_files(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a-idx3-ubyte", "a-idx3-ubyte.gz"):
        assert np.array_equal(read_idx(write_idx(tmp_path / name, array)), array)
    cut = tmp_path / "cut-idx3-ubyte"
    cut.write_bytes((tmp_path / "a-idx3-ubyte").read_bytes()[:-5])
    with pytest.raises(DatasetError, match=r"cut-idx3-ubyte: header says \(2, 3, 4\)"):
        read_idx(cut)
    (tmp_path / "bad-idx3-ubyte").write_bytes(b"\x00\x00\x0d\x01\x00\x00\x00\x01\x00")
    with pytest.raises(DatasetError, match=r"bad-idx3-ubyte is not an unsigned-byte IDX"):
        read_idx(tmp_path / "bad-idx3-ubyte")
    with pytest.raises(DatasetError, match=r"no Fashion-MNIST IDX files .*empty.*apt-get"):
        build_domain("fashion_mnist", f"bag@{tmp_path / 'empty'}", 32, "train")


# --- packing and the KIND: prefix ----------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".npy", ".hdf5"])
def test_pack_round_trip_keeps_pixels_and_split(tmp_path, suffix, capsys):
    root = _nested(tmp_path / "anime")
    out = tmp_path / f"anime_8{suffix}"
    assert (
        prepare_data.main(
            [
                "pack",
                "--domain",
                "target",
                "--out",
                str(out),
                "--dataset",
                "folder",
                "--target",
                f"anime_faces:{root}",
                "--image-size",
                "16",
            ]
        )
        == 0
    )
    kind = "packed" if suffix == ".npy" else "igan_hdf5"
    assert f"--target {kind}:{out}" in capsys.readouterr().out
    for split in ("train", "test"):
        packed = build_domain("folder", f"{kind}:{out}", 16, split)
        folder = build_domain("anime_faces", str(root), 16, split)
        assert len(packed) == len(folder)
        for a, b in zip(packed, folder):
            assert torch.equal(a, b)


def test_packed_comics_keep_training_flips(tmp_path):
    root = _kaggle_comics(tmp_path / "kaggle")
    out = tmp_path / "comics.npy"
    assert (
        prepare_data.main(
            [
                "pack",
                "--domain",
                "source",
                "--out",
                str(out),
                "--dataset",
                "comics",
                "--source",
                str(root),
                "--image-size",
                "16",
            ]
        )
        == 0
    )
    assert build_domain("packed", str(out), 16, "train").flip
    assert not build_domain("packed", str(out), 16, "test").flip
    with pytest.raises(DatasetError, match=r"packed file .*nope\.npy does not exist"):
        build_domain("packed", str(tmp_path / "nope.npy"), 8, "train")


def test_check_reports_sizes_and_what_is_missing(tmp_path, capsys):
    write_celeba(tmp_path / "celeba", 30, MALE)
    anime = _nested(tmp_path / "anime")
    ok = prepare_data.main(
        [
            "check",
            "--preset",
            "celeba2anime_64",
            "--source",
            str(tmp_path / "celeba"),
            "--target",
            f"anime_faces:{anime}",
            "--batch-size",
            "4",
        ]
    )
    out = capsys.readouterr().out
    assert ok == 0 and "21 images = 18 train + 3 test" in out and "12 images = 10 train + 2" in out
    bad = prepare_data.main(
        [
            "check",
            "--preset",
            "celeba2anime_64",
            "--source",
            str(tmp_path / "gone"),
            "--target",
            f"anime_faces:{anime}",
        ]
    )
    out = capsys.readouterr().out
    assert bad == 1 and "gone does not exist" in out and "CelebA.html" in out
    assert "only 10 training images, fewer than one batch (64)" in out
