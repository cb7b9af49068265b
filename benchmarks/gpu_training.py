"""A real short training on the device: ``accelerate launch scripts/train.py`` of a paper-size
64 px preset on real images, sized to a budget of seconds, then train.py's own judgement of the
export on the test split.

The task is emoji_64 when ``datasets/emoji`` is there (``scripts/prepare_data.py emoji``), else
Fashion-MNIST bags -> shoes at 64 px with the paper's networks, when its files are; a quick run
trains tiny networks on photo-like folders instead. The export (without the potential g) comes
back as a tar in parts of at most 15 MiB, so that it can be judged on another machine when this
one lacks the Inception weights.
"""

from __future__ import annotations

import json
import tarfile
import time
from pathlib import Path

from benchmarks.gpu_subprocess import ROOT, run_bounded
from benchmarks.launch import accelerate_launch

PART_BYTES = 15 * 2**20  # a device call brings back files of at most 16 MiB
STARTUP_S = 45.0  # process start, data, the final judgement and export: outside the steps


class NoTask(Exception):
    """No real images for the training here."""


def _paper_nets() -> list[str]:
    return [
        "--image-size",
        "64",
        "--t-base-channels",
        "48",
        "--g-nfilter",
        "64",
        "--batch-size",
        "64",
    ]


def choose_task(quick: bool, work: Path) -> tuple[str, list[str], str, bool]:
    """(name, train.py flags, what it is, whether its judge needs the Inception weights)."""
    if quick:
        from benchmarks.data_feed import write_jpeg_folder

        src = write_jpeg_folder(work / "quick_source", 40, 32, seed=11)
        tgt = write_jpeg_folder(work / "quick_target", 40, 32, seed=12)
        return (
            "quick_folders",
            [
                "--preset",
                "colored_mnist",
                "--dataset",
                "folder",
                "--source",
                str(src),
                "--target",
                str(tgt),
                "--image-size",
                "32",
                "--t-base-channels",
                "4",
                "--g-nfilter",
                "4",
                "--batch-size",
                "8",
            ],
            "tiny networks on two folders of 40 photo-like 32 px JPEGs (--quick)",
            False,
        )
    from enot.config.presets import EMOJI_ROOT

    if all((ROOT / EMOJI_ROOT / d).is_dir() for d in ("noto", "twemoji")):
        return (
            "emoji_64",
            ["--preset", "emoji_64"],
            "emoji_64: Noto Emoji -> Twemoji at 64 px, the paper's networks",
            True,
        )
    from data import DatasetError
    from data.fashion_mnist import find_idx_files

    try:
        find_idx_files(None)
    except DatasetError as e:
        raise NoTask(
            f"no real images: {EMOJI_ROOT} is missing (scripts/"
            f"prepare_data.py emoji) and so is Fashion-MNIST ({e})"
        ) from None
    return (
        "fashion_64",
        ["--preset", "fashion_bags2shoes", *_paper_nets()],
        "Fashion-MNIST bag -> shoes at 64 px with the paper's networks",
        False,
    )


def step_estimate(speed: dict | None) -> tuple[float | None, str]:
    """Seconds of one training step at 64 px: the trainer's mode (bf16, channels-last) as the
    speed section measured it, with a quarter more for what the loop adds."""
    rows = [r for r in (speed or {}).get("rows", []) if r["status"] == "ok" and r["px"] == 64]
    for mode in ("bf16_cl", "bf16", "fp32"):
        for r in rows:
            if r["mode"] == mode:
                return 1.25 * r["ms_per_step"] / 1e3, f"1.25 x the {mode} step measured"
    return None, "no 64 px step was measured"


def launch(
    flags: list[str], precision: str, steps: int, judge_mid_run: bool, run_dir: Path
) -> list[str]:
    return [
        *accelerate_launch("--num_processes", "1", precision=precision),
        str(ROOT / "scripts" / "train.py"),
        *flags,
        "--mixed-precision",
        precision,
        "--steps",
        str(steps),
        "--log-every",
        str(max(1, steps // 20)),
        "--sample-every",
        str(steps),
        "--checkpoint-every",
        str(steps),
        "--eval-every",
        str(steps if judge_mid_run else 0),
        "--output-dir",
        str(run_dir),
    ]


def pack_export(export: Path, out: Path) -> list[str]:
    """The export without g/ as ``export.tar.00``, ``.01``, ... in ``out``; their names."""
    tar = out / "export.tar"
    with tarfile.open(tar, "w") as t:
        for p in sorted(export.iterdir()):
            if p.name != "g":
                t.add(p, arcname=f"export/{p.name}")
    names, data = [], tar.read_bytes()
    tar.unlink()
    for i in range(0, len(data), PART_BYTES):
        part = out / f"export.tar.{i // PART_BYTES:02d}"
        part.write_bytes(data[i : i + PART_BYTES])
        names.append(part.name)
    return names


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.splitlines()[-lines:])


def run(
    quick: bool,
    speed: dict | None,
    work: Path,
    out: Path,
    deadline: float,
    inception_found: bool,
    device: str,
) -> dict:
    name, flags, what, needs_inception = choose_task(quick, work)
    est, est_from = step_estimate(speed)
    left = deadline - time.monotonic()
    if left < STARTUP_S + 15 and not quick:
        raise NoTask(f"only {left:.0f} s of the budget left: the sections before took the rest")
    if quick:
        steps, est_from = 4, "--quick"
    else:
        steps = 200 if est is None else int((left - STARTUP_S) / est)
        steps = max(20, min(steps, 120_000))
    judge_here = inception_found or not needs_inception
    precision = "bf16" if device == "cuda" else "no"
    run_dir = work / f"train_{name}"
    # A judgement at the last step lets train.py's closing report reuse it (emoji's costs an
    # Inception pass); the split judge of the others needs none and runs at the end anyway.
    cmd = launch(flags, precision, steps, needs_inception and inception_found, run_dir)
    t0 = time.monotonic()
    res = run_bounded(cmd, max(left, 30.0))
    wall = time.monotonic() - t0
    if res.timed_out:
        raise TimeoutError(f"train.py ran past the section's {left:.0f} s: {_tail(res.stderr, 5)}")
    (work / f"train_{name}.log").write_text(res.stdout + "\n--- stderr ---\n" + res.stderr)
    result = {
        "task": name,
        "what": what,
        "command": " ".join(cmd),
        "steps": steps,
        "steps_from": est_from,
        "precision": precision,
        "returncode": res.returncode,
        "wall_s": wall,
        "stdout_tail": _tail(res.stdout),
        "stderr_tail": _tail(res.stderr),
    }
    summary_file = run_dir / "summary.json"
    if summary_file.is_file():
        s = json.loads(summary_file.read_text())
        batch = json.loads((run_dir / "config.json").read_text())["train"]["batch_size"]
        result.update(
            trained_steps=s["steps"],
            train_s=s["seconds_this_run"],
            steps_per_s=s["steps_this_run"] / s["seconds_this_run"],
            images_per_s=2 * batch * s["steps_this_run"] / s["seconds_this_run"],
            final_losses=s["final"],
        )
    judged = run_dir / "test_split.json"
    if judged.is_file():
        result["judge"] = json.loads(judged.read_text()).get("export")
    else:
        errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
        result["judge"] = None
        result["judge_reason"] = (
            errors[-1]
            if errors
            else "train.py wrote no test_split.json"
            if judge_here
            else "no Inception weights on this machine; emoji's judge needs them (docs/gpu.md)"
        )
    if (run_dir / "export").is_dir():
        result["export_parts"] = pack_export(run_dir / "export", out)
    if res.returncode != 0 and "trained_steps" not in result:
        raise RuntimeError(f"train.py exited {res.returncode}: {_tail(res.stderr, 8)}")
    return result
