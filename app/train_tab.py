"""The Train tab: two image sets in, a run of scripts/train.py watched live, the export served.

Data are two uploaded zips, two folders under the server's ``--data-dir`` roots, or a preset's
own data (colored MNIST, Fashion-MNIST, emoji when prepared). The tab shows the command it
runs, and runs exactly that (``app.train_jobs``). A Gradio Timer re-reads the run folder every
few seconds, so every browser, and a reloaded page, shows the one running job; when a run
finishes its export joins the Translate tab's list.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import gradio as gr
from gradio import utils as gr_utils

from enot.config.presets import PRESETS
from enot.config.sections import METHODS

from .catalog import Entry
from .run_view import Pictures, judge_text, output_tail, progress_text
from .train_data import FOLDERS, OWN_DATA, THUMBS, ZIPS, data_flags
from .train_data import preview as preview_data
from .train_jobs import TrainRefused, shell_command
from .train_settings import Settings, SettingsRefused, build_flags, check_flags, preset_values
from .training import Training
from .zip_import import DataRefused

TICK_SECONDS = 2.0
SIZES = [16, 32, 64, 128, 256]
INTRO = """Train a translator from two image sets, then use it in the Translate tab. The tab
runs `scripts/train.py` (shown below, ready to copy to a shell), one run at a time on this
server; Stop checkpoints the run and Resume continues it exactly."""


def build_train_tab(t: Training, model: gr.Dropdown, entries: dict[str, Entry], register) -> None:
    jobs, pictures = t.jobs, Pictures(Path(gr_utils.get_upload_folder()))
    first = preset_values("colored_mnist")

    def serve_finished() -> None:
        t.serve_finished(entries, register)

    shown_run = t.shown_run

    def view(picked: str | None, current: str | None, seen: dict | None):
        """Every live output, skipping pictures this page has already."""
        seen = dict(seen or {})
        serve_finished()
        name, runs = shown_run(picked), jobs.runs()
        if name is None:
            status, judge, tail, curves, grid = "no run yet", "", "", None, None
        else:
            state = jobs.state(name)
            status = progress_text(state)
            judge, tail = judge_text(state.folder), output_tail(state.folder)
            curves, grid = pictures.curves(state.folder), pictures.grid(state.folder)
        offer = ""
        unfinished = [] if jobs.running() else jobs.unfinished()
        if unfinished:
            offer = (
                f"**Unfinished run:** {unfinished[0]} stopped with a checkpoint; "
                f"pick it under *run* (shown there unless you chose another) and press "
                f"**Resume** to continue it."
            )
        names = list(entries)
        outs = [status, judge, tail, offer]
        for key, value in (("curves", curves), ("grid", grid)):
            outs.append(gr.skip() if seen.get(key) == value else value)
            seen[key] = value
        if seen.get("runs") != runs or seen.get("run") != name:
            outs.append(gr.update(choices=runs, value=name))
        else:
            outs.append(gr.skip())
        if seen.get("models") != names:
            value = current if current in names else (names[-1] if names else None)
            outs.append(gr.update(choices=names, value=value))
            seen["models"] = names
        else:
            outs.append(gr.skip())
        seen["runs"], seen["run"] = runs, name
        return [*outs, seen]

    def status_api(name: str = "") -> str:
        """The state of run ``name`` (default: the running or newest run) as JSON."""
        serve_finished()
        return json.dumps(t.status(name, list(entries)))

    def plan(kind, processes, *values):
        """The command the Start button would run, and every setting it resolves to. It reads
        neither the uploads nor the folders: the browser drops an event whose inputs are still
        uploading, so a setting changed during a large zip's upload would never be shown."""
        data = (
            []
            if kind == OWN_DATA
            else [
                "--dataset",
                "folder",
                "--source",
                "<source images>",
                "--target",
                "<target images>",
            ]
        )
        try:
            flags = build_flags(Settings(*values), data, str(jobs.root / "<chosen at start>"))
            shown = shell_command(flags, int(processes or 1))
            cfg = check_flags(flags)
        except SettingsRefused as err:
            return f"# not a valid run: {err}", ""
        return shown, json.dumps(cfg.to_dict(), indent=2)

    def prepare(kind, zips, folders, s: Settings, folder: Path) -> list[str]:
        """The run's flags, its data made ready in ``folder``; DataRefused, SettingsRefused."""
        data = data_flags(kind, zips, folders, folder, t.data_roots, t.max_zip_bytes)
        flags = build_flags(s, data, str(folder))
        check_flags(flags)
        return flags

    # The two public endpoints name every input, for gradio_client.
    def check(
        kind, zip_a, zip_b, folder_a, folder_b, preset, budget, steps, seconds, method,
        image_size, batch_size, lr_t, lr_g, extra,
    ):  # fmt: skip
        s = Settings(
            preset, budget, steps, seconds, method, image_size, batch_size, lr_t, lr_g, extra
        )
        folder = jobs.new_folder("preview")
        try:
            return preview_data(prepare(kind, (zip_a, zip_b), (folder_a, folder_b), s, folder))
        except (DataRefused, SettingsRefused) as err:
            raise gr.Error(str(err), title="Data refused") from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def start(
        kind, zip_a, zip_b, folder_a, folder_b, processes, preset, budget, steps, seconds, method,
        image_size, batch_size, lr_t, lr_g, extra,
    ):  # fmt: skip
        s = Settings(
            preset, budget, steps, seconds, method, image_size, batch_size, lr_t, lr_g, extra
        )
        running = jobs.running()
        if running:
            raise gr.Error(
                f"a run is training already: {running[0].name}; stop it first, or wait for "
                f"it to finish",
                title="Not started",
            )
        folder = jobs.new_folder(s.preset)
        try:
            flags = prepare(kind, (zip_a, zip_b), (folder_a, folder_b), s, folder)
            jobs.start(folder, flags, int(processes or 1))
        except (DataRefused, SettingsRefused, TrainRefused) as err:
            shutil.rmtree(folder, ignore_errors=True)
            raise gr.Error(str(err), title="Not started") from None
        return f"started {folder.name}: `{shell_command(flags, int(processes or 1))}`"

    def stop():
        try:
            name = jobs.stop()
        except TrainRefused as err:
            raise gr.Error(str(err), title="Nothing to stop") from None
        return f"stop requested: {name} checkpoints at the step it has reached and ends"

    def resume(picked):
        name = shown_run(picked)
        try:
            if name is None:
                raise TrainRefused("no run to resume")
            jobs.resume(name)
        except TrainRefused as err:
            raise gr.Error(str(err), title="Not resumed") from None
        return f"resumed {name} with --resume latest"

    def fill(preset):
        v = preset_values(preset)
        return [
            v[k] for k in ("steps", "seconds", "method", "image_size", "batch_size", "lr_t", "lr_g")
        ]

    with gr.Tab("Train", elem_id="train-tab"):
        gr.Markdown(INTRO)
        kind = gr.Radio(
            [OWN_DATA, ZIPS, FOLDERS], value=OWN_DATA, label="images", elem_id="data-kind"
        )
        with gr.Row(visible=False) as zip_row:
            zip_a = gr.File(
                label="source images (zip)",
                file_types=[".zip"],
                type="filepath",
                elem_id="zip-source",
            )
            zip_b = gr.File(
                label="target images (zip)",
                file_types=[".zip"],
                type="filepath",
                elem_id="zip-target",
            )
        roots = ", ".join(str(r) for r in t.data_roots) or "none (start with --data-dir)"
        with gr.Row(visible=False) as folder_row:
            folder_a = gr.Textbox(label=f"source folder, under {roots}", elem_id="folder-source")
            folder_b = gr.Textbox(label=f"target folder, under {roots}", elem_id="folder-target")
        with gr.Row():
            preset = gr.Dropdown(
                sorted(PRESETS), value="colored_mnist", label="preset", elem_id="preset"
            )
            method = gr.Dropdown(list(METHODS), value=first["method"], label="method")
            size = gr.Dropdown(
                SIZES, value=first["image_size"], label="image size", elem_id="image-size"
            )
            batch = gr.Number(first["batch_size"], precision=0, label="batch", elem_id="batch")
            lr_t = gr.Number(first["lr_t"], label="lr of T")
            lr_g = gr.Number(first["lr_g"], label="lr of g")
        with gr.Row():
            budget = gr.Radio(["steps", "seconds"], value="steps", label="budget", elem_id="budget")
            steps = gr.Number(first["steps"], precision=0, label="steps", elem_id="steps")
            seconds = gr.Number(
                first["seconds"], label="seconds (--max-seconds)", elem_id="seconds"
            )
            processes = gr.Number(
                1, precision=0, minimum=1, label="processes (accelerate launch above 1)"
            )
        extra = gr.Textbox(
            label="more flags: numbers, switches and choices of scripts/train.py",
            elem_id="extra-flags",
        )
        check_button = gr.Button("Check the data", elem_id="check-data")
        preview = gr.Markdown(elem_id="data-preview")
        with gr.Row():
            thumbs_a = gr.Gallery(
                label="source (as the model sees it)",
                columns=THUMBS,
                height=110,
                elem_classes="pixelated",
            )
            thumbs_b = gr.Gallery(
                label="target (as the model sees it)",
                columns=THUMBS,
                height=110,
                elem_classes="pixelated",
            )
        command = gr.Code(
            label="the command Start runs",
            language="shell",
            interactive=False,
            elem_id="train-command",
        )
        with gr.Accordion("every setting (the preset's unless set above)", open=False):
            resolved = gr.Code(language="json", interactive=False)
        with gr.Row():
            start_button = gr.Button("Start", variant="primary", elem_id="train-start")
            stop_button = gr.Button("Stop", variant="stop", elem_id="train-stop")
            run_pick = gr.Dropdown(
                jobs.runs(), label="run", elem_id="train-run", scale=2, allow_custom_value=True
            )
            resume_button = gr.Button("Resume", elem_id="train-resume")
        said = gr.Markdown(elem_id="train-said")
        offer = gr.Markdown(elem_id="train-offer")
        status = gr.Markdown(elem_id="train-status")
        with gr.Row():
            curves = gr.Image(
                label="curves (log.jsonl; dashed: the exact OT of the train samples)",
                type="filepath",
                interactive=False,
                height=420,
                scale=3,
                elem_id="train-curves",
            )
            grid = gr.Image(
                label="latest sample grid",
                type="filepath",
                interactive=False,
                height=420,
                scale=2,
                elem_id="train-grid",
                elem_classes=["pixelated", "enlarged"],
            )
        judge = gr.Markdown(elem_id="train-judge")
        tail = gr.Textbox(label="trainer output", lines=8, max_lines=12, elem_id="train-output")
        seen = gr.State()
        timer = gr.Timer(TICK_SECONDS)

    values = [preset, budget, steps, seconds, method, size, batch, lr_t, lr_g, extra]
    sources = [kind, zip_a, zip_b, folder_a, folder_b]
    live = [status, judge, tail, offer, curves, grid, run_pick, model, seen]
    private = dict(api_visibility="private")
    kind.change(
        lambda k: (gr.update(visible=k == ZIPS), gr.update(visible=k == FOLDERS)),
        kind,
        [zip_row, folder_row],
        **private,
    )
    preset.change(fill, preset, [steps, seconds, method, size, batch, lr_t, lr_g], **private)
    for c in [kind, processes, *values]:
        c.change(
            plan,
            [kind, processes, *values],
            [command, resolved],
            show_progress="hidden",
            **private,
        )
    check_button.click(
        check, sources + values, [preview, thumbs_a, thumbs_b], api_name="check_data"
    )
    start_button.click(
        start, [*sources, processes, *values], said, api_name="train_start", concurrency_id="train"
    )
    stop_button.click(stop, None, said, api_name="train_stop", concurrency_id="train")
    resume_button.click(resume, run_pick, said, api_name="train_resume", concurrency_id="train")
    timer.tick(
        view,
        [run_pick, model, seen],
        live,
        show_progress="hidden",
        concurrency_limit=4,
        concurrency_id="train_view",
        **private,
    )
    gr.api(status_api, api_name="train_status")
