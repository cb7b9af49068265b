"""The Gradio Blocks page: choose a translator, translate one image or a batch, slide t.

Named API endpoints (``gradio_client`` or HTTP): ``/translate`` (image, translator, t) ->
(model input x, T(x), (1 - t) x + t T(x), preprocessing note); ``/translate_batch`` (images,
translator) -> (gallery, zip); ``/model_card`` (translator) -> (card, examples). Every run of
T shares one queue slot group (``concurrency_id="T"``) so CPU cores are not oversubscribed.

``/translate`` runs with ``preprocess=False``: gr.Image would otherwise decode the upload
itself, so a non-image, an empty file or a decompression bomb would fail inside Gradio with a
generic message. The handler gets the upload's file data (Gradio has already checked that the
file is in its upload folder) and ``app.uploads.decode_upload`` refuses bad files clearly.
"""

from __future__ import annotations

import base64
import binascii
import tempfile
import zipfile
from pathlib import Path

import gradio as gr
from gradio import utils as gr_utils
from PIL import Image

from .catalog import Entry, model_card
from .pipeline import encode_png, interpolate, to_pil, translate, translate_many
from .uploads import UploadError, decode_upload, inside

MAX_BATCH = 32
DISPLAY_PX = 256
# Model-size images (32 px for the quickstart) are enlarged to fill their box; nearest-neighbour
# keeps the pixels honest.
CSS = """
.pixelated img { image-rendering: pixelated; }
.enlarged img { width: 100% !important; height: 100% !important; object-fit: contain !important; }
"""
THEME = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"])

INTRO = """# ENOT: image-to-image translation by neural optimal transport
Upload, paste or snap an image; it is cropped and resized exactly as in training, then mapped by
the transport map T. The slider shows the displacement interpolation (1 − t)·x + t·T(x): the W2
geodesic between the input and its translation, pixel by pixel."""


def _fresh_dir(prefix: str) -> Path:
    """A new folder in Gradio's upload area for one request's output files.

    Returning PIL images would let Gradio write them to a content-addressed cache path,
    rewriting the file in place; two requests with the same output then race, and one of
    them can download a truncated file (seen under the 50-request load test). Files written
    once into a private folder cannot race.
    """
    root = Path(gr_utils.get_upload_folder())
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))


def _png(img: Image.Image, folder: Path, name: str) -> str:
    path = folder / f"{name}.png"
    path.write_bytes(encode_png(img))
    return str(path)


def _entry(entries: dict[str, Entry], name: str) -> Entry:
    if not entries:
        raise gr.Error("no translator yet: train one in the Train tab")
    if name not in entries:
        raise gr.Error(f"unknown translator {name!r}; choose one of {', '.join(entries)}")
    return entries[name]


def _upload_source(payload) -> tuple[str | bytes, str]:
    """Raw gr.Image file data (model or dict) -> (upload path or pasted bytes, display name)."""
    if payload is None:
        raise gr.Error("no image: upload one, paste one, use the webcam or pick an example")
    get = payload.get if isinstance(payload, dict) else lambda key: getattr(payload, key, None)
    url, path = get("url") or "", get("path")
    if url.startswith("data:"):
        try:
            return base64.b64decode(url.split(",", 1)[1], validate=True), "the pasted image"
        except (IndexError, binascii.Error):
            raise gr.Error("the pasted image is not valid base64 data") from None
    if not path:
        raise gr.Error("the upload carried no file")
    return path, Path(get("orig_name") or path).name[:120]  # shown in messages only


def _decode(source: str | bytes | None, name: str | None = None) -> Image.Image:
    if source is None:
        raise gr.Error("no image: upload one, paste one, use the webcam or pick an example")
    if isinstance(source, str) and not inside(source, [gr_utils.get_upload_folder()]):
        raise gr.Error("only files uploaded to this demo can be used")
    try:
        return decode_upload(source, name)
    except UploadError as err:
        raise gr.Error(str(err), title="Upload refused") from None


def _shown_image(label: str, elem_id: str) -> gr.Image:
    """An output image at display size, its pixels enlarged unsmoothed (small models)."""
    return gr.Image(
        label=label,
        format="png",
        interactive=False,
        height=DISPLAY_PX,
        elem_id=elem_id,
        elem_classes=["pixelated", "enlarged"],
    )


NO_TRANSLATOR = "### no translator yet\nTrain one in the **Train** tab; it appears here when done."


def build_demo(entries: dict[str, Entry], concurrency: int = 1, training=None) -> gr.Blocks:
    """The page; ``training`` (an ``app.train_tab.Training``) adds the Train tab."""
    names = list(entries)
    first = entries[names[0]] if names else None

    def translate_one(image, translator: str, t: float):
        entry = _entry(entries, translator)
        if not isinstance(t, (int, float)) or not 0.0 <= t <= 1.0:
            raise gr.Error(f"t must be a number in [0, 1], got {t!r}")
        result = translate(entry.T, _decode(*_upload_source(image)), entry.size, entry.background)
        blend = interpolate(result.x, result.tx, t)
        folder = _fresh_dir("enot-one-")
        return (
            _png(to_pil(result.x), folder, "x"),
            _png(to_pil(result.tx), folder, "T_x"),
            _png(to_pil(blend), folder, f"blend_t{t:.2f}"),
            result.preprocessing,
            (result.x, result.tx),
        )

    def slide(pair, t: float):
        if pair is None:
            return None
        return _png(to_pil(interpolate(pair[0], pair[1], t)), _fresh_dir("enot-t-"), "blend")

    def translate_batch(files: list[str] | None, translator: str):
        entry = _entry(entries, translator)
        if not files:
            raise gr.Error("no images: add one or more image files")
        if len(files) > MAX_BATCH:
            raise gr.Error(f"{len(files)} files; the batch limit is {MAX_BATCH}")
        images, problems = [], []
        for path in files:
            try:
                images.append(_decode(path, Path(path).name))
            except gr.Error as err:
                problems.append(err.message)
        if problems:
            raise gr.Error("; ".join(problems), title="Upload refused")
        results = translate_many(entry.T, images, entry.size, entry.background)
        out_dir = _fresh_dir("enot-batch-")
        zip_path = out_dir / "translations.zip"
        gallery = []
        with zipfile.ZipFile(zip_path, "w") as zf:
            for i, (path, result) in enumerate(zip(files, results)):
                png = encode_png(to_pil(result.tx))
                member = f"{Path(path).stem}_T.png"
                if member in zf.namelist():  # two uploads with one name keep both results
                    member = f"{Path(path).stem}_{i}_T.png"
                zf.writestr(member, png)
                (out_dir / f"{i}.png").write_bytes(png)
                gallery.append((str(out_dir / f"{i}.png"), Path(path).name))
        return gallery, str(zip_path)

    # Example files are written once at start-up and only ever read afterwards.
    example_files = {}

    def register(name: str, entry: Entry) -> None:
        """Serve ``entry`` from now on (a run of the Train tab that finished)."""
        folder = _fresh_dir("enot-examples-")
        example_files[name] = [_png(img, folder, str(i)) for i, img in enumerate(entry.examples)]
        entries[name] = entry

    for name, entry in list(entries.items()):
        register(name, entry)

    def select_model(translator: str):
        entry = _entry(entries, translator)
        return model_card(entry), example_files[translator]

    def pick_example(translator: str, evt: gr.SelectData):
        return example_files[_entry(entries, translator).name][evt.index]

    # Uploads and outputs older than a day are removed, checked every hour.
    with gr.Blocks(
        title="ENOT translation demo", analytics_enabled=False, delete_cache=(3600, 86400)
    ) as demo:
        gr.Markdown(INTRO)
        with gr.Tab("Translate", elem_id="translate-tab"):
            with gr.Row():
                model = gr.Dropdown(
                    names,
                    value=names[0] if names else None,
                    label="translator",
                    scale=1,
                    elem_id="translator",
                    allow_custom_value=training is not None,  # runs that finish later join
                )
                card = gr.Markdown(
                    model_card(first) if first else NO_TRANSLATOR, elem_id="model-card"
                )
            with gr.Tab("One image"):
                with gr.Row():
                    image = gr.Image(
                        sources=["upload", "webcam", "clipboard"],
                        type="filepath",
                        format="png",
                        label="input",
                        height=DISPLAY_PX,
                        elem_id="input-image",
                    )
                    seen = _shown_image("model input x (cropped, resized)", "model-input")
                    out = _shown_image("translation T(x)", "output-image")
                run = gr.Button("Translate", variant="primary", elem_id="translate-button")
                with gr.Row():
                    t = gr.Slider(
                        0.0,
                        1.0,
                        value=1.0,
                        step=0.05,
                        elem_id="t-slider",
                        label="t: displacement interpolation (1 − t)·x + t·T(x)",
                    )
                    blend = _shown_image("(1 − t)·x + t·T(x)", "blend-image")
                note = gr.Markdown(elem_id="preprocessing")
                examples = gr.Gallery(
                    example_files[names[0]] if names else [],
                    columns=8,
                    label="examples from the test split (click one)",
                    height=200,
                    allow_preview=False,
                    elem_classes="pixelated",
                    elem_id="examples",
                )
            with gr.Tab("Batch"):
                files = gr.File(
                    file_count="multiple",
                    file_types=["image"],
                    type="filepath",
                    label=f"images (up to {MAX_BATCH})",
                )
                run_batch = gr.Button("Translate all", variant="primary")
                gallery = gr.Gallery(label="translations", columns=6, elem_classes="pixelated")
                zipped = gr.File(label="all translations (zip)")
        pair = gr.State()

        run.click(
            translate_one,
            [image, model, t],
            [seen, out, blend, note, pair],
            api_name="translate",
            concurrency_id="T",
            concurrency_limit=concurrency,
            preprocess=False,
        )
        t.release(slide, [pair, t], blend, api_visibility="private")
        run_batch.click(
            translate_batch,
            [files, model],
            [gallery, zipped],
            api_name="translate_batch",
            concurrency_id="T",
            concurrency_limit=concurrency,
        )
        model.change(select_model, model, [card, examples], api_name="model_card")
        examples.select(pick_example, model, image, api_visibility="private")
        if training is not None:
            from .train_tab import build_train_tab

            build_train_tab(training, model, entries, register)
    demo.queue(default_concurrency_limit=concurrency, max_size=256)
    return demo
