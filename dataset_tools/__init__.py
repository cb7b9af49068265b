"""Tools that build datasets on disk, run by ``scripts/prepare_data.py``; training never runs them.

``emoji`` fetches the Noto Emoji and Twemoji npm packages and writes them as two image folders
with the same names; ``pack`` writes one domain as a packed .npy memmap or an iGAN-layout
.hdf5 file. What reads the results at training time (``data.image_folder``, ``data.packed``,
``data.igan_hdf5``) stays in ``data``; these tools import ``data``, never the reverse.
"""
