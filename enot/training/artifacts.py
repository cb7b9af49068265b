"""The names of what a training run writes in its run folder (``--output-dir``)."""

CONFIG = "config.json"  # the resolved config, also inside every checkpoint
LOG = "log.jsonl"  # one JSON record per logged step or evaluation
SUMMARY = "summary.json"  # the run summary, at the end of --steps or --max-seconds
CURVES = "curves.png"  # the training curves of log.jsonl
SAMPLES = "samples"  # folder of sample grids, step_NNNNNNNN.png and LATEST_SAMPLES
LATEST_SAMPLES = "latest.png"
CHECKPOINTS = "checkpoints"  # folder of resumable checkpoints, step_NNNNNNNN/
EXPORT = "export"  # the inference export of the final map
EXPORT_BEST = "export_best"  # the export of the best evaluation
TEST_SPLIT = "test_split.json"  # scripts/train.py's judgement of the exports on the test split
OT_REFERENCE = "ot_reference.json"  # the exact OT of the train split's samples, before training
OT_PLAN = "ot_plan.npz"  # the exact OT matching of the train split, for --init/--pairs ot_plan
