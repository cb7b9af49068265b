"""The typed export card of an export: what training writes, and the cards it refuses."""

from __future__ import annotations

import json

import pytest
from app_fixtures import make_export

from enot.export import ExportError, load_export
from enot.export.card import CARD_FILE, VERSION, CardError, ExportCard


def test_the_written_card_reads_back_field_for_field(tmp_path):
    export = make_export(tmp_path / "export", image_size=32, step=7, background="#808080")
    raw = json.loads((export / CARD_FILE).read_text())
    card = ExportCard.read(export)
    assert raw["version"] == VERSION and card.to_dict() == raw
    assert (card.step, card.image_size, card.channels, card.background) == (7, 32, 3, "#808080")
    assert card.test_split is None and card.onnx is None and not card.ema
    assert load_export(export).card == card


def test_a_card_of_a_format_no_release_wrote_is_refused_by_name(tmp_path):
    """No release wrote a card without a version, or of version 1 (the untyped card of
    development builds): they are refused with what to do, not migrated."""
    export = make_export(tmp_path / "export")
    raw = json.loads((export / CARD_FILE).read_text())
    raw.pop("version")
    (export / CARD_FILE).write_text(json.dumps(raw))
    with pytest.raises(ExportError, match="is not a valid export card") as err:
        load_export(export)
    assert f"has no version, a format no release wrote; this enot-i2i reads version {VERSION}" in (
        str(err.value)
    )
    (export / CARD_FILE).write_text(json.dumps({**raw, "version": VERSION - 1}))
    with pytest.raises(CardError, match="export the run again") as err:
        ExportCard.read(export)
    assert f"is a version {VERSION - 1} card, a format no release wrote" in str(err.value)


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"version": VERSION + 1},
            f"is a version {VERSION + 1} card; this enot-i2i reads cards up "
            f"to version {VERSION}: upgrade enot-i2i",
        ),
        ({"version": "2"}, "version must be a positive integer"),
        ({"colour_space": "lab"}, "unknown field(s) colour_space"),
        ({"image_size": "32"}, "image_size must be int"),
        ({"onnx": {"file": "T.onnx"}}, "OnnxExport.__init__() missing"),
    ],
)
def test_a_card_it_cannot_read_is_refused_by_name(tmp_path, change, message):
    export = make_export(tmp_path / "export")
    raw = {**json.loads((export / CARD_FILE).read_text()), **change}
    (export / CARD_FILE).write_text(json.dumps(raw))
    with pytest.raises(ExportError, match="is not a valid export card") as err:
        load_export(export)
    assert message in str(err.value) and str(export / CARD_FILE) in str(err.value)


def test_a_card_without_a_required_field_names_it():
    with pytest.raises(CardError, match="the export card lacks image_size, config"):
        ExportCard.from_dict(
            {"preset": "p", "step": 1, "cost": "l2", "dataset": "d", "source": "a", "target": "b"}
        )
