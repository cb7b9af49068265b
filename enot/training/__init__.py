"""Training machinery around the method: the Accelerate loop (``trainer``), its infinite data
streams, checkpoints and resume, training curves and network construction; the loop writes the
inference export with ``enot.export``. Nothing here defines a loss: those are in ``enot``."""
