"""The Markdown of a GPU check (``gpu_check.md``) from its JSON, one part per section; every
figure names the device it was measured on."""

from __future__ import annotations

from benchmarks.gpu_machine import gpu_label

TITLES = {
    "machine": "The machine",
    "correctness": "Correctness on CUDA",
    "speed": "Speed",
    "memory": "Memory",
    "data": "Data feed",
    "training": "A real training",
}


def _f(value, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + " --- |" * len(header),
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
    ]


def _why(r: dict) -> str:
    return r["status"] if r["status"] in ("ok", "passed") else f"{r['status']}: {r.get('reason')}"


def machine(m: dict, on: str) -> list[str]:
    gpu = m["gpu"]
    lines = [
        f"- GPU: {gpu['count']} x {gpu['name']}, {gpu['memory_gib']:.1f} GiB, compute "
        f"capability {gpu['compute_capability']}, {gpu['multiprocessors']} multiprocessors"
        if gpu
        else "- GPU: none (torch.cuda.is_available() is False)",
        f"- driver {m['driver'] or '-'}, CUDA {m['cuda'] or '-'}, cuDNN {m['cudnn'] or '-'}, "
        f"torch {m['torch']}, Python {m['python']}",
        f"- CPU: {m['cpu']}, {m['cpu_cores']} cores",
        "- missing packages: "
        + (
            ", ".join(
                f"{d} ({p['needed_for']})"
                for d, p in ((p["distribution"], p) for p in m["packages"].values())
                if p["version"] is None
            )
            or "none"
        ),
        "- FID's Inception weights: "
        + (m["inception_weights"].get("path") or m["inception_weights"].get("reason")),
        "",
    ]
    return lines


def correctness(r: dict, on: str) -> list[str]:
    return [
        f"`{r['command']}` on {on}: {r['passed']} passed, {r['failed']} failed, "
        f"{r['skipped']} skipped.",
        "",
        *_table(
            ["test", "outcome", "s"],
            [[t["name"], _why(t), f"{t['seconds']:.1f}"] for t in r["tests"]],
        ),
    ]


def speed(r: dict, on: str) -> list[str]:
    peak = r["peak"]
    lines = [
        f"On {on}; median of {r['repeats']} steps after {r['warmup']} untimed (a compiled "
        f"mode: at least 3). Images/s counts both domains (2 x batch per step). MFU: the "
        f"step's counted FLOPs per second over the datasheet's dense peak of "
        + (
            f"the {peak['card']} (bf16 {peak['bf16_tflops']:g}, TF32 {peak['tf32_tflops']:g}, "
            f"fp32 {peak['fp32_tflops']:g} TFLOP/s)."
            if peak
            else f"the card: {r['peak_reason']}."
        ),
        "",
        *_table(
            [
                "setting",
                "px",
                "batch",
                "mode",
                "ms/step",
                "images/s",
                "TFLOP/s",
                "MFU of bf16 peak",
                "MFU of own peak",
                "status",
            ],
            [
                [
                    x["setting"],
                    str(x["px"]),
                    str(x["batch"]),
                    x["mode"],
                    _f(x.get("ms_per_step"), ".2f"),
                    _f(x.get("images_per_s"), ",.0f"),
                    _f(x.get("tflops"), ".3g"),
                    _f(x.get("mfu_bf16_peak"), ".1%"),
                    _f(x.get("mfu_own_peak"), ".1%")
                    + (f" ({x['own_peak']})" if x.get("mfu_own_peak") else ""),
                    _why(x),
                ]
                for x in r["rows"]
            ],
        ),
    ]
    for p in r["predict"]:
        lines.append(
            f"- {p['setting']} ({p['px']} px, {p['gflop_per_step']:,.4g} GFLOP per step): "
            f"`benchmark.py predict` assumes MFU {p['assumed_mfu']:g}: "
            + (
                f"{p['predicted_ms']:.1f} ms/step, {p['predicted_hours']:.2f} h for 120k steps"
                if p["predicted_ms"]
                else "unknown (no datasheet peak)"
            )
            + f"; measured best on {on}: "
            + (
                f"{p['best_ms']:.1f} ms/step ({p['best_mode']}), {p['best_hours']:.2f} h for "
                f"120k steps"
                if p["best_ms"]
                else "none"
            )
        )
        if p["px"] == 64 and p["best_bf16_mfu"] is not None:
            lines.append(
                f"- goal, >= 40% MFU in bf16 at 64 px: best {p['best_bf16_mfu']:.1%}, "
                + ("met" if p["best_bf16_mfu"] >= 0.4 else "not met")
            )
    return lines + [""]


def memory(r: dict, on: str) -> list[str]:
    return [
        f"One training step (two, so that AdamW's state exists) on {on}; predicted by "
        f"`benchmark.py memory` (fake tensors).",
        "",
        *_table(
            [
                "presets",
                "px",
                "batch",
                "precision",
                "predicted MiB",
                "measured MiB",
                "measured / predicted",
                "measured by",
                "status",
            ],
            [
                [
                    ", ".join(x["presets"]),
                    str(x["px"]),
                    str(x["batch"]),
                    x["precision"],
                    _f(x.get("predicted_mib"), ",.0f"),
                    _f(x.get("measured_mib"), ",.0f"),
                    _f(x.get("measured_over_predicted"), ".2f"),
                    x.get("measured_by", "-"),
                    _why(x),
                ]
                for x in r["rows"]
            ],
        ),
    ]


def data(r: dict, on: str) -> list[str]:
    need = r["need_per_domain"]
    lines = [
        f"One domain's training loader on the host of {on}, {r['images']} photo-like "
        f"images a format; the step needs "
        + (
            f"{need:,.0f} images/s per domain ({r['need_from']})."
            if need
            else f"an unknown rate ({r['need_from']})."
        ),
        "",
        *_table(
            ["format", "px", "workers", "images/s", "x need", "first batch s", "status"],
            [
                [
                    x["format"],
                    str(x["px"]),
                    str(x["workers"]),
                    _f(x.get("images_per_s"), ",.0f"),
                    _f(x.get("over_need"), ".1f"),
                    _f(x.get("first_batch_s"), ".2f"),
                    _why(x),
                ]
                for x in r["rows"]
            ],
        ),
    ]
    best = r["packed_best_over_need"]
    if best is not None:
        lines += [
            f"Goal, packed data at >= {r['goal']:g}x the need: best {best:.1f}x, "
            + ("met" if best >= r["goal"] else "not met"),
            "",
        ]
    return lines


def training(r: dict, on: str) -> list[str]:
    precision = "fp32" if r["precision"] == "no" else r["precision"]
    lines = [
        f"{r['what']}, on {on}, {precision}: {r['steps']} steps ({r['steps_from']}).",
        "",
        f"    {r['command']}",
        "",
        f"- train.py exited {r['returncode']} after {r['wall_s']:.0f} s",
    ]
    if "trained_steps" in r:
        lines.append(
            f"- {r['trained_steps']} steps in {r['train_s']:.0f} s: "
            f"{r['steps_per_s']:.2f} steps/s, {r['images_per_s']:,.0f} images/s; "
            "final losses: " + ", ".join(f"{k} {v:.4g}" for k, v in r["final_losses"].items())
        )
    judge = r.get("judge")
    if judge:
        lines += [
            "",
            *_table(
                ["judge figure (test split)", "value"],
                [
                    [k, _f(v, ".4g") if isinstance(v, float) else str(v)]
                    for k, v in judge.items()
                    if v is not None
                ],
            ),
        ]
    else:
        lines.append(f"- judge: none: {r.get('judge_reason')}")
    if r.get("export_parts"):
        lines.append(
            f"- the export without g, in parts: {', '.join(r['export_parts'])}; "
            "rejoin with `cat export.tar.* | tar -x` (docs/gpu.md)"
        )
    return lines + [""]


def markdown(report: dict) -> str:
    sections = report["sections"]
    m = sections["machine"].get("result")
    on = gpu_label(m) if m else "an unknown device"
    lines = [
        f"# GPU check on {on}",
        "",
        f"    {report['command']}",
        "",
        f"{'Quick run (tiny shapes, CPU). ' if report['quick'] else ''}Device "
        f"{report['device']}; {report['seconds']:.0f} s of a {report['budget_s']:.0f} s "
        f"budget.",
        "",
        *_table(
            ["section", "status", "s", "budget s"],
            [
                [
                    TITLES[n],
                    s["status"] + (f": {s['reason']}" if s.get("reason") else ""),
                    f"{s['seconds']:.0f}",
                    f"{s['budget_s']:.0f}",
                ]
                for n, s in sections.items()
            ],
        ),
    ]
    writers = {
        "machine": machine,
        "correctness": correctness,
        "speed": speed,
        "memory": memory,
        "data": data,
        "training": training,
    }
    for name, s in sections.items():
        lines += [f"## {TITLES[name]}", ""]
        if s["status"] in ("failed", "skipped"):
            lines += [f"{s['status'].capitalize()}: {s['reason']}", ""]
        else:
            lines += writers[name](s["result"], on)
    return "\n".join(lines)
