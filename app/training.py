"""What the server allows the Train tab, and how finished runs join the Translate tab."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from enot.export.card import CARD_FILE
from enot.training import artifacts

from .catalog import Entry, load_entry
from .run_view import judge_text, progress_text
from .train_jobs import TrainJobs


@dataclass
class Training:
    """Run folders under ``jobs.root``, server folders under ``data_roots``, zips unpacking to
    at most ``max_zip_bytes`` each; finished runs' exports are served by ``backend``."""

    jobs: TrainJobs
    data_roots: list[Path]
    models_root: Path | None
    backend: str = "torch"
    max_zip_bytes: int = 2 * 2**30
    served: set = field(default_factory=set)  # runs whose exports are in the Translate tab

    def label(self, export: Path) -> str:
        """An export's name in the translator list: relative to the model folder when inside
        it (as the catalog names it at start-up), else to the run root's parent."""
        root = self.models_root
        inside = root is not None and export.resolve().is_relative_to(root)
        return str(export.resolve().relative_to(root if inside else self.jobs.root.parent))

    def serve_finished(self, entries: dict[str, Entry], register) -> None:
        """Load the exports of runs that finished into the translator list, once each."""
        running = self.jobs.running()
        for name in self.jobs.runs():
            if name in self.served or self.jobs.state(name, running).state != "finished":
                continue
            folder = self.jobs.folder(name)
            for sub in (artifacts.EXPORT, artifacts.EXPORT_BEST):
                label = self.label(folder / sub)
                if (folder / sub / CARD_FILE).is_file() and label not in entries:
                    roots = [*self.data_roots, self.jobs.root]
                    entry = load_entry(folder / sub, folder, label, roots, self.backend)
                    if entry is not None:
                        register(label, entry)
            self.served.add(name)

    def shown_run(self, picked: str | None) -> str | None:
        """The run a page shows: the running one, else the one picked, else the newest that
        can be resumed, else the newest."""
        running = self.jobs.running()
        if running:
            return running[0].name
        runs = self.jobs.runs()
        if picked in runs:
            return picked
        unfinished = self.jobs.unfinished()
        return unfinished[0] if unfinished else (runs[0] if runs else None)

    def status(self, name: str, translators: list[str]) -> dict:
        shown = self.shown_run(name or None)
        if shown is None:
            return {"run": None, "translators": translators}
        s = self.jobs.state(shown)
        return {
            "progress": progress_text(s),
            "judge": judge_text(s.folder),
            "run": shown,
            "state": s.state,
            "step": s.step,
            "steps": s.steps,
            "unfinished": self.jobs.unfinished(),
            "translators": translators,
        }
