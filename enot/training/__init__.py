"""Training machinery around the method: the Accelerate loop (``trainer``), its infinite data
streams, checkpoints and resume, training curves, network construction and the inference
export. Nothing here defines a loss: those are in ``enot``."""
