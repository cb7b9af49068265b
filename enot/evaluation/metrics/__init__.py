"""Offline, clean-fid-compatible FID/KID: Inception weights lookup, features, distances."""

from enot.evaluation.metrics.features import (
    clean_resize,
    features_from_folder,
    features_from_images,
)
from enot.evaluation.metrics.fid import (
    FeatureStats,
    fid_between,
    fid_from_features_fast,
    frechet_distance,
    kid_from_features,
    kid_with_std,
    load_stats,
    stats,
)
from enot.evaluation.metrics.inception import InceptionFeatures
from enot.evaluation.metrics.paper_protocol import (
    PROTOCOLS,
    features_from_tensors,
    paper_resize,
    protocol_features,
)
from enot.evaluation.metrics.weights import InceptionWeightsError, locate_inception_weights

__all__ = [
    "FeatureStats",
    "fid_between",
    "fid_from_features_fast",
    "InceptionFeatures",
    "InceptionWeightsError",
    "PROTOCOLS",
    "features_from_tensors",
    "paper_resize",
    "protocol_features",
    "clean_resize",
    "features_from_folder",
    "features_from_images",
    "frechet_distance",
    "kid_from_features",
    "kid_with_std",
    "load_stats",
    "locate_inception_weights",
    "stats",
]
