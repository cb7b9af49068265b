"""How far a run has come: steps done and the best evaluation so far; in every checkpoint."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Progress:
    """Optimisation steps done and the best evaluation so far; saved in every checkpoint.

    ``best_score`` is higher-is-better whatever --best-by ranks by (FID and KID enter negated).
    """

    step: int = 0
    best_score: float = float("-inf")
    best_step: int = 0
    seconds: float = 0.0  # of training, over every resumed run

    def state_dict(self) -> dict[str, float]:
        return {"step": self.step, "best_score": self.best_score, "best_step": self.best_step,
                "seconds": self.seconds}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.step = int(state["step"])
        # Checkpoints written before --best-by kept the best FID.
        old = -float(state["best_fid"]) if "best_fid" in state else float("-inf")
        self.best_score = float(state.get("best_score", old))
        self.best_step = int(state.get("best_step", 0))
        self.seconds = float(state.get("seconds", 0.0))
