"""Training machinery around the method: the Accelerate loop (``loop``), what a step needs built
from the config (``networks``) and the methods' updates (``updates``), its infinite data
streams, checkpoints and resume, training curves; the loop writes the inference export with
``enot.export``. Nothing here defines a loss: those are in ``enot``."""
