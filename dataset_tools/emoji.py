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

import base64
import errno
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image
from tqdm import tqdm

from data.atomic import atomic_file, swap_in
from data.downloads import cache_root
from data.errors import CorruptImageError, DatasetError
from data.normalization import parse_background, to_rgb
from data.split import TEST_BUCKETS, in_test_by_name

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
NEEDED_SPACE = "about 60 MB for the PNGs (under --out) plus 140 MB for the npm tarballs (--cache)"
NPM_TIMEOUT_S = 1800
_FULL_ERRNOS = frozenset(
    e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG) if e is not None
)
_SAFE_STEM = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.-]*")


class NpmError(DatasetError):
    """npm is missing, or ``npm pack`` failed; the message says how to get the tarball."""


class DigestMismatchError(DatasetError):
    """A tarball's sha512 is not the pinned one; the bad download has been deleted."""


class DiskFullError(DatasetError):
    """A write failed for lack of space (or a file size limit); temporary files are removed."""


@dataclass(frozen=True)
class EmojiPackage:
    """One npm package holding one emoji set, and how its images become a domain folder.

    ``integrity`` is npm's subresource-integrity form ``sha512-<base64 digest>`` of the
    tarball. ``spec`` is what ``npm pack`` is given, ``name@version`` unless set (a local
    package folder packs offline). ``readme_marker`` picks the line of the package README that
    states the set's licence, quoted into the domain's LICENSE.md.
    """

    name: str
    version: str
    integrity: str
    image_folder: str  # inside the tarball, e.g. package/img/google/64
    domain: str  # the folder name under the dataset root
    license: str
    attribution: str
    readme_marker: str = ""
    spec: str | None = None

    @property
    def source(self) -> str:
        return self.spec or f"{self.name}@{self.version}"

    @property
    def tarball_name(self) -> str:
        """The file name ``npm pack`` gives this package: @scope/name -> scope-name-1.0.0.tgz."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"

    def describe(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "integrity": self.integrity,
            "license": self.license,
            "attribution": self.attribution,
        }


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


def default_cache_dir() -> Path:
    """``$ENOT_CACHE_DIR/npm``, else ``$XDG_CACHE_HOME/enot/npm``, else ``~/.cache/enot/npm``:
    the cache root the evaluation's statistics cache uses, with an ``npm`` folder in it."""
    return cache_root() / "npm"


def sri_sha512(path: Path) -> str:
    """The file's sha512 in npm's integrity form ``sha512-<base64>``."""
    h = hashlib.sha512()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha512-" + base64.b64encode(h.digest()).decode("ascii")


def _disk_full(path: Path, err: OSError) -> DiskFullError:
    return DiskFullError(
        f"the disk is full (or a file size limit was hit) while writing {path}: "
        f"{err.strerror or err}. The emoji dataset needs {NEEDED_SPACE}; free some space (or "
        f"choose --out / --cache on a larger disk) and rerun: finished parts are kept"
    )


def _make_dir(path: Path) -> None:
    """mkdir -p, with a full disk reported as such."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        if err.errno in _FULL_ERRNOS:
            raise _disk_full(path, err) from err
        raise


def _write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``; a full disk becomes a DiskFullError naming ``path``."""
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as err:
        if err.errno in _FULL_ERRNOS:
            raise _disk_full(path, err) from err
        raise


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` under a hidden temporary name beside ``path``, then rename it into place."""
    with atomic_file(path) as tmp:
        _write_bytes(tmp, data)


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _json_bytes(value: dict) -> bytes:
    return (json.dumps(value, indent=1) + "\n").encode("utf-8")


# ----------------------------------------------------------------------------- fetching


def fetch_tarball(pkg: EmojiPackage, cache: Path, log: Callable[[str], None] = print) -> Path:
    """``cache/<tarball_name>``, reused where its sha512 is the pinned one, else packed by npm,
    verified, and renamed into the cache (never a partial or unverified file under that name)."""
    final = cache / pkg.tarball_name
    stale = ""
    if final.is_file():
        actual = sri_sha512(final)
        if actual == pkg.integrity:
            log(f"{pkg.domain}: reusing verified {final}")
            return final
        stale = (
            f" (the cached {final} has digest {actual}, not the pinned {pkg.integrity}; "
            f"delete it or replace it with the right file)"
        )
        log(f"{pkg.domain}: {final} does not match its pinned digest; fetching it again")
    npm = shutil.which("npm")
    if npm is None:
        raise NpmError(
            f"npm is not installed (not found on PATH), and it fetches {pkg.name}@{pkg.version}: "
            f"install Node.js and npm (`apt-get install npm`, or https://nodejs.org), or place "
            f"the tarball by hand at {final}{stale}"
        )
    _make_dir(cache)
    by_hand = (
        f"the npm registry must be reachable (check the network, or a proxy: `npm config "
        f"set proxy ...`), or fetch {pkg.tarball_name} by other means (`npm pack "
        f"{pkg.name}@{pkg.version}` elsewhere) and place it by hand at {final}{stale}"
    )
    tmp = Path(tempfile.mkdtemp(prefix=".npm-pack-", dir=cache))
    try:
        cmd = [npm, "pack", pkg.source, "--pack-destination", str(tmp), "--json"]
        log(f"{pkg.domain}: fetching {pkg.source} with npm pack ...")
        env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, env=env, timeout=NPM_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            raise NpmError(
                f"`npm pack {pkg.source}` took over {NPM_TIMEOUT_S} s; {by_hand}"
            ) from None
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr.strip() or proc.stdout.strip()).splitlines()[-12:])
            if any(code in tail for code in ("ENOSPC", "EDQUOT", "EFBIG")):
                raise DiskFullError(
                    f"npm pack {pkg.source} failed for lack of space in {cache}:\n{tail}\nThe "
                    f"emoji dataset needs {NEEDED_SPACE}; free some space and rerun"
                )
            raise NpmError(
                f"`npm pack {pkg.source}` failed (exit status {proc.returncode}):\n"
                f"{tail}\n{by_hand}"
            )
        packed = sorted(tmp.glob("*.tgz"))
        if len(packed) != 1:
            raise NpmError(
                f"`npm pack {pkg.source}` wrote {len(packed)} tarballs, not one; {by_hand}"
            )
        actual = sri_sha512(packed[0])
        if actual != pkg.integrity:
            packed[0].unlink()
            raise DigestMismatchError(
                f"the tarball npm pack wrote for {pkg.source} ({packed[0].name}) has digest "
                f"{actual}, not the pinned {pkg.integrity}; deleted it. The registry served "
                f"other bytes than the pinned release: check the package name and version, or "
                f"place the right file by hand at {final}"
            )
        os.replace(packed[0], final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"{pkg.domain}: verified and cached {final}")
    return final


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
            if err.errno in _FULL_ERRNOS:
                raise _disk_full(tmp, err) from err
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
            _write_bytes(tmp / f"{PurePosixPath(m.name).stem}.png", png)
        _write_bytes(
            tmp / LICENSE_FILE, _license_text(pkg, tf, background, len(members)).encode("utf-8")
        )
        _write_bytes(tmp / MANIFEST, _json_bytes(manifest))
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
        _make_dir(out)
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
    _write_atomic(out / SPLIT_FILE, _json_bytes(_split_record(names, bg, packages)))
    return out
