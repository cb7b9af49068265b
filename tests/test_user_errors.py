"""One base for the errors a user can cause: the scripts catch ``data.UserError`` once, and each
error keeps the built-in base its callers may catch."""

from __future__ import annotations

import pytest

from data import CorruptImageError, DatasetError, UserError
from enot.config import ConfigError
from enot.evaluation.class_judge import JudgeError
from enot.evaluation.held_out import EvaluationError
from enot.evaluation.metrics.weights import InceptionWeightsError
from enot.evaluation.ot_reference import OTReferenceError
from enot.export import ExportError
from enot.optim import NonFiniteError
from enot.training.checkpoints import CheckpointError
from models.efficientnet_lite import BackboneWeightsError
from models.lpips import LPIPSWeightsError


@pytest.mark.parametrize(
    "error, builtin",
    [
        (BackboneWeightsError, ValueError),
        (LPIPSWeightsError, ValueError),
        (ConfigError, ValueError),
        (DatasetError, ValueError),
        (CorruptImageError, ValueError),
        (CheckpointError, ValueError),
        (NonFiniteError, FloatingPointError),
        (InceptionWeightsError, RuntimeError),
        (EvaluationError, ValueError),
        (JudgeError, ValueError),
        (OTReferenceError, ValueError),
        (ExportError, ValueError),
    ],
)
def test_every_user_error_is_a_user_error_and_keeps_its_builtin_base(error, builtin):
    assert issubclass(error, UserError) and issubclass(error, builtin)
    with pytest.raises(UserError, match="the message"):
        raise error("the message")
