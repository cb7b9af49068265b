"""Gradio demo: serve every ENOT inference export found under a folder (``python -m app``)."""
