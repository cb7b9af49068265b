"""Offline, clean-fid-compatible FID/KID: Inception weights lookup, features, distances."""
