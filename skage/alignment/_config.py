"""The settings of FaceAligner that decide a chip, shared by alignment and detection."""

from dataclasses import dataclass


@dataclass(frozen=True)
class _Config:
    """The parameters that decide a chip; hashed as the cache key."""

    detector: str
    n_points: int
    output_size: int
    margin: float
    geometry: str
    upsample: int
    select: str
    detection_threshold: float
    retry_padded: bool
    failure_chip: str = "blank"  # what an image without a usable face gives: "blank" or "center" (a crop)
