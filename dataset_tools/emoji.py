"""Noto Emoji and Twemoji as two image domains with the same names, built from npm packages.

``prepare_emoji`` (run by ``python scripts/prepare_data.py emoji``) fetches the pinned
``emoji-datasource-google`` and ``emoji-datasource-twitter`` tarballs with ``npm pack``, checks
each against its pinned sha512, and writes every 64 px emoji of both sets, composited on one
opaque background, as ``<out>/noto/<codepoints>.png`` and ``<out>/twemoji/<codepoints>.png``.
Both folders hold exactly the same names, so a translated emoji has a true counterpart in the
other style; ``<out>/split.json`` lists which names are test (one in ten, by a hash of the name:
``data.split.in_test_by_name``, the rule the ``paired_folder`` kind applies).

The build is atomic and resumable. Verified tarballs stay in the cache folder; each domain is
written under a hidden sibling and renamed into place when complete, with a ``.complete.json``
manifest saying what it was built from; ``split.json`` is written last, so its presence means
the dataset is complete. A rerun reuses whatever matches and rebuilds the rest.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

from PIL import Image
from tqdm import tqdm

from data.atomic import swap_in
from data.errors import CorruptImageError, DatasetError
from data.normalization import parse_background, to_rgb
from data.split import TEST_BUCKETS, in_test_by_name
from dataset_tools.emoji_fetch import (
    FULL_ERRNOS,
    DigestMismatchError,
    DiskFullError,
    EmojiPackage,
    NpmError,
    default_cache_dir,
    disk_full,
    fetch_tarball,
    make_dir,
    sri_sha512,
    write_atomic,
    write_bytes,
)

__all__ = [
    "EMOJI_PACKAGES",
    "DEFAULT_OUT",
    "DigestMismatchError",
    "DiskFullError",
    "EmojiPackage",
    "NpmError",
    "default_cache_dir",
    "parse_background",
    "prepare_emoji",
    "sri_sha512",
]

DEFAULT_OUT = Path("datasets/emoji")
SPLIT_FILE = "split.json"
MANIFEST = ".complete.json"
LICENSE_FILE = "LICENSE.md"
SPLIT_RULE = (
    f"by name: a file stem is test where int(sha256(stem).hexdigest()[:8], 16) % "
    f"{TEST_BUCKETS} == 0 (data.split.in_test_by_name), else train; the same in "
    f"every domain"
)
_SAFE_STEM = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.-]*")


NOTO = EmojiPackage(
    name="emoji-datasource-google",
    version="16.0.0",
    integrity="sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCo"
    "T8DlPhfQ3A==",
    image_folder="package/img/google/64",
    domain="noto",
    license="Apache License 2.0",
    attribution=(
        "Noto Emoji by Google, Apache License 2.0, https://github.com/googlefonts/noto-emoji"
    ),
    readme_marker="Noto images",
)
TWEMOJI = EmojiPackage(
    name="emoji-datasource-twitter",
    version="16.0.0",
    integrity="sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6cP/dstIfSDMtpjFLWuZewWg8j"
    "BbuL2eyELQ==",
    image_folder="package/img/twitter/64",
    domain="twemoji",
    license="CC BY 4.0",
    attribution=(
        "Twemoji by Twitter, Inc and other contributors, CC BY 4.0, "
        "https://github.com/twitter/twemoji"
    ),
    readme_marker="Twitter images",
)
EMOJI_PACKAGES: tuple[EmojiPackage, ...] = (NOTO, TWEMOJI)


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _json_bytes(value: dict) -> bytes:
    return (json.dumps(value, indent=1) + "\n").encode("utf-8")


# ----------------------------------------------------------------------------- reading


def _open_tarball(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:gz")
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DatasetError(
            f"cannot read the tarball {path}: {err}; delete it to fetch it again"
        ) from err


def _list_images(tf: tarfile.TarFile, pkg: EmojiPackage, path: Path) -> dict[str, tarfile.TarInfo]:
    """The package's PNGs directly in ``pkg.image_folder``, by stem, in archive order.

    Refuses a tarball holding any member with an absolute path or a ``..`` component, and an
    image member that is a link or has a name that could not be a plain file name.
    """
    prefix = pkg.image_folder.strip("/") + "/"
    found: dict[str, tarfile.TarInfo] = {}
    try:
        members = tf.getmembers()
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DatasetError(
            f"cannot read the tarball {path}: {err}; delete it to fetch it again"
        ) from err
    for m in members:
        parts = PurePosixPath(m.name).parts
        if m.name.startswith("/") or ".." in parts or "\\" in m.name:
            raise DatasetError(
                f"{path}: member {m.name!r} has an unsafe path (absolute or with "
                f"..); refusing this tarball"
            )
        if not (m.name.startswith(prefix) and m.name.endswith(".png")):
            continue
        rest = m.name[len(prefix) :]
        if "/" in rest:
            continue  # a subfolder is some other image set
        stem = rest[: -len(".png")]
        if not m.isfile() or not _SAFE_STEM.fullmatch(stem):
            raise DatasetError(
                f"{path}: member {m.name!r} is not a plain file with a safe name; "
                f"refusing this tarball"
            )
        found[stem] = m
    if not found:
        raise DatasetError(f"{path} holds no PNGs in {prefix}; is it {pkg.name}@{pkg.version}?")
    return found


def _member_text(tf: tarfile.TarFile, name: str) -> str:
    try:
        f = tf.extractfile(name)
    except KeyError:
        return ""
    return f.read().decode("utf-8", "replace") if f is not None else ""


def _license_text(
    pkg: EmojiPackage, tf: tarfile.TarFile, background: tuple[int, int, int], count: int
) -> str:
    """LICENSE.md of a domain: the attribution first (``data.attribution`` reads that line)."""
    root = pkg.image_folder.strip("/").split("/")[0]
    readme = _member_text(tf, f"{root}/README.md")
    stated = [
        line.strip()
        for line in readme.splitlines()
        if pkg.readme_marker and pkg.readme_marker in line and "licen" in line.lower()
    ]
    hex_bg = "#{:02x}{:02x}{:02x}".format(*background)
    lines = [
        f"# {pkg.attribution}",
        "",
        f"Licence of these {count} images: {pkg.license} ({pkg.attribution}).",
        "",
        f"Source: the npm package {pkg.name}@{pkg.version}, integrity {pkg.integrity},",
        f"folder {pkg.image_folder}.",
        "",
        f"Changes: each RGBA image was composited on the opaque background {hex_bg} and saved",
        "as an RGB PNG, by `python scripts/prepare_data.py emoji`.",
    ]
    if stated:
        lines += ["", "The package's README states:", "", *[f"> {s}" for s in stated]]
    package_license = _member_text(tf, f"{root}/LICENSE").strip()
    if package_license:
        lines += [
            "",
            f"## The LICENSE of the npm package {pkg.name} (its code and data files)",
            "",
            "```",
            package_license,
            "```",
        ]
    return "\n".join(lines) + "\n"


def _composite_png(data: bytes, background: tuple[int, int, int]) -> bytes:
    """PNG bytes -> PNG bytes of the image alpha-composited on ``background``, as RGB."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        flat = to_rgb(img, background)  # the loaders' own compositing
    out = io.BytesIO()
    flat.save(out, format="PNG")
    return out.getvalue()


# ----------------------------------------------------------------------------- building


def _manifest(pkg: EmojiPackage, background: tuple[int, int, int], names: list[str]) -> dict:
    digest = hashlib.sha256("\n".join(sorted(names)).encode("utf-8")).hexdigest()
    return {
        "package": f"{pkg.name}@{pkg.version}",
        "integrity": pkg.integrity,
        "image_folder": pkg.image_folder,
        "background": list(background),
        "images": len(names),
        "names_sha256": digest,
    }


def _is_finished(folder: Path, manifest: dict) -> bool:
    return folder.is_dir() and _read_json(folder / MANIFEST) == manifest


def _build_domain(
    pkg: EmojiPackage,
    tf: tarfile.TarFile,
    tarball: Path,
    members: list[tarfile.TarInfo],
    final: Path,
    background: tuple[int, int, int],
    manifest: dict,
) -> None:
    """Write the domain under a hidden sibling of ``final``, then rename it into place."""
    tmp = final.with_name(f".{final.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)  # left by a run that was killed
    try:
        try:
            tmp.mkdir(parents=True)
        except OSError as err:
            if err.errno in FULL_ERRNOS:
                raise disk_full(tmp, err) from err
            raise
        for m in tqdm(members, desc=f"{pkg.domain} <- {tarball.name}", unit="img"):
            f = tf.extractfile(m)
            data = f.read() if f is not None else b""
            try:
                png = _composite_png(data, background)
            except Exception as err:  # decoders raise OSError, SyntaxError, ValueError, ...
                raise CorruptImageError(
                    f"cannot decode member {m.name} of {tarball}: {type(err).__name__}: {err}"
                ) from err
            write_bytes(tmp / f"{PurePosixPath(m.name).stem}.png", png)
        write_bytes(
            tmp / LICENSE_FILE, _license_text(pkg, tf, background, len(members)).encode("utf-8")
        )
        write_bytes(tmp / MANIFEST, _json_bytes(manifest))
        swap_in(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _split_record(
    names: list[str], background: tuple[int, int, int], packages: Sequence[EmojiPackage]
) -> dict:
    return {
        "rule": SPLIT_RULE,
        "test": sorted(n for n in names if in_test_by_name(n)),
        "train": sorted(n for n in names if not in_test_by_name(n)),
        "background": list(background),
        "packages": {p.domain: p.describe() for p in packages},
    }


def _already_complete(
    out: Path, background: tuple[int, int, int], packages: Sequence[EmojiPackage]
) -> bool:
    """Whether ``out/split.json`` and every domain's manifest match this request."""
    record = _read_json(out / SPLIT_FILE)
    if (
        not record
        or not isinstance(record.get("train"), list)
        or not isinstance(record.get("test"), list)
    ):
        return False
    names = record["train"] + record["test"]
    if record != _split_record(names, background, packages):
        return False
    return all(_is_finished(out / p.domain, _manifest(p, background, names)) for p in packages)


def _check_background(background: Sequence[int]) -> tuple[int, int, int]:
    bg = tuple(background)
    if len(bg) != 3 or not all(isinstance(c, int) and 0 <= c <= 255 for c in bg):
        raise DatasetError(f"background must be three ints in 0..255, got {background!r}")
    return bg  # type: ignore[return-value]


def prepare_emoji(
    out: Path,
    cache: Path,
    background: Sequence[int] = (255, 255, 255),
    packages: Sequence[EmojiPackage] = EMOJI_PACKAGES,
    log: Callable[[str], None] = print,
) -> Path:
    """Build (or finish, or confirm) the emoji dataset in ``out``; return ``out``.

    ``cache`` keeps the verified npm tarballs. Every package becomes ``out/<domain>/`` holding
    its images that all packages share, composited on ``background``, plus LICENSE.md; then
    ``out/split.json`` records the names of each split. Raises a DatasetError (NpmError,
    DigestMismatchError, DiskFullError, CorruptImageError, ...) whose message names the fix,
    leaving no split.json, no partial domain folder and no unverified tarball behind.
    """
    out, cache = Path(out), Path(cache)
    bg = _check_background(background)
    if len({p.domain for p in packages}) != len(packages) or not packages:
        raise DatasetError("each emoji package needs its own domain folder name")
    if _already_complete(out, bg, packages):
        log(f"{out} is already complete (same packages, background {list(bg)}); nothing to do")
        return out
    (out / SPLIT_FILE).unlink(missing_ok=True)  # from now on the dataset is incomplete
    tarballs = [fetch_tarball(p, cache, log) for p in packages]
    opened: list[tarfile.TarFile] = []
    try:
        listed = []
        for p, path in zip(packages, tarballs):
            opened.append(_open_tarball(path))
            listed.append(_list_images(opened[-1], p, path))
        shared = set(listed[0]).intersection(*listed[1:])
        for p, found in zip(packages, listed):
            dropped = sorted(set(found) - shared)
            if dropped:
                log(
                    f"{p.domain}: dropped {len(dropped)} of {len(found)} images that another set "
                    f"lacks (e.g. {', '.join(dropped[:5])})"
                )
        if not shared:
            raise DatasetError(
                f"the packages share no image names: {', '.join(p.source for p in packages)}"
            )
        names = sorted(shared)
        make_dir(out)
        for p, tf, path, found in zip(packages, opened, tarballs, listed):
            final, manifest = out / p.domain, _manifest(p, bg, names)
            if _is_finished(final, manifest):
                log(f"{p.domain}: reusing the finished folder {final}")
                continue
            members = [m for stem, m in found.items() if stem in shared]  # archive order
            _build_domain(p, tf, path, members, final, bg, manifest)
            log(f"{p.domain}: wrote {len(members)} images to {final}")
    finally:
        for tf in opened:
            tf.close()
    write_atomic(out / SPLIT_FILE, _json_bytes(_split_record(names, bg, packages)))
    return out
