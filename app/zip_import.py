"""Image sets for the Train tab: an uploaded zip unpacked safely, or a server folder allowed.

A zip is untrusted: every member is checked before anything is written (a path outside the
destination, an absolute path or a link is a zip-slip and refuses the whole zip), the declared
unpacked size and the number of members are held to limits, and after unpacking every image
must decode. A refused zip leaves nothing behind. A server folder is read only when it lies
under one of the roots the server was started with (``--data-dir``).
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from data.image_folder import IMAGE_EXTENSIONS, walk_files

from .uploads import UploadError, decode_upload, inside

MAX_MEMBERS = 100_000
TRAIN_FRACTION = 0.9  # data.split's rule: the last tenth of the sorted files is the test split
_SHOWN = 3  # names listed in a message


class DataRefused(ValueError):
    """An image set cannot be used; the message names the set and the problem."""


@dataclass(frozen=True)
class ImageSet:
    """A folder of images ready for ``--dataset folder``, with what the preview shows."""

    folder: Path
    images: list[Path]

    @property
    def split(self) -> tuple[int, int]:
        """(train, test) image counts under the project's split rule."""
        n_train = int(len(self.images) * TRAIN_FRACTION)
        return n_train, len(self.images) - n_train


def _is_image(name: str) -> bool:
    path = PurePosixPath(name)
    hidden = any(part.startswith(".") or part == "__MACOSX" for part in path.parts)
    return not hidden and path.suffix.lower() in IMAGE_EXTENSIONS


def _unsafe(info: zipfile.ZipInfo) -> str | None:
    """Why member ``info`` could write outside its folder, or None."""
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        return f"{info.filename!r} points outside its folder"
    if path.parts and ":" in path.parts[0]:
        return f"{info.filename!r} names a drive"
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"{info.filename!r} is a symbolic link"
    return None


def unpack_zip(zip_path: str | Path, dest: Path, label: str, max_bytes: int) -> ImageSet:
    """Unpack the images of ``zip_path`` into the new folder ``dest``; refuse the whole zip,
    writing nothing, if it is not a zip, if a member could escape ``dest``, if it unpacks to
    more than ``max_bytes`` or MAX_MEMBERS members, or if it holds no image that decodes."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as err:
        raise DataRefused(f"{label}: not a readable zip file ({err})") from None
    with archive:
        infos = archive.infolist()
        unsafe = [why for why in map(_unsafe, infos) if why]
        if unsafe:
            raise DataRefused(
                f"{label}: refused, nothing unpacked: member {unsafe[0]} (zip-slip)"
                + (f", and {len(unsafe) - 1} more" if len(unsafe) > 1 else "")
            )
        if len(infos) > MAX_MEMBERS:
            raise DataRefused(f"{label}: {len(infos):,} members; the limit is {MAX_MEMBERS:,}")
        total = sum(i.file_size for i in infos)
        if total > max_bytes:
            raise DataRefused(
                f"{label}: unpacks to {total / 2**20:,.1f} MB; the limit is "
                f"{max_bytes / 2**20:,.0f} MB (--max-zip-mb); nothing unpacked"
            )
        members = [i for i in infos if not i.is_dir() and _is_image(i.filename)]
        if not members:
            raise DataRefused(
                f"{label}: holds no image file ({', '.join(sorted(IMAGE_EXTENSIONS))}) among "
                f"its {len(infos)} members; nothing started"
            )
        dest.mkdir(parents=True, exist_ok=False)
        try:
            for info in members:
                target = dest / PurePosixPath(info.filename.replace("\\", "/"))
                if not inside(target, [dest]):  # checked above; kept as the last word
                    raise DataRefused(f"{label}: {info.filename!r} points outside its folder")
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
            return check_images(dest, label)
        except (DataRefused, zipfile.BadZipFile, OSError) as err:
            shutil.rmtree(dest, ignore_errors=True)
            if isinstance(err, DataRefused):
                raise
            raise DataRefused(f"{label}: the zip is corrupt ({err}); nothing started") from None


def check_images(folder: Path, label: str) -> ImageSet:
    """Every image file under ``folder`` must decode; at least two (one for each split)."""
    images = [p for p in walk_files(folder) if p.suffix.lower() in IMAGE_EXTENSIONS]
    bad = []
    for path in images:
        try:
            decode_upload(path, path.relative_to(folder).as_posix())
        except UploadError as err:
            bad.append(str(err))
    if bad:
        raise DataRefused(
            f"{label}: {len(bad)} of {len(images)} images do not decode: " + "; ".join(bad[:_SHOWN])
        )
    if len(images) < 2:
        raise DataRefused(
            f"{label}: {len(images)} readable image(s); the train and test splits need at least 2"
        )
    return ImageSet(folder, images)


def allowed_folder(text: str, roots: list[Path], label: str) -> ImageSet:
    """A server folder named by the user, only under ``roots`` (``--data-dir``)."""
    if not text or not text.strip():
        raise DataRefused(f"{label}: no folder given")
    folder = Path(text.strip()).expanduser()
    if not roots or not inside(folder, roots):
        allowed = ", ".join(str(r) for r in roots) or "none: start the server with --data-dir"
        raise DataRefused(f"{label}: {folder} is outside the allowed roots ({allowed})")
    if not folder.is_dir():
        raise DataRefused(f"{label}: {folder} is not a folder")
    return check_images(folder.resolve(), label)
