"""Run profiles: the sizes behind ``profile = smoke | default | paper``.

Notebooks hold no magic numbers; they read their sizes from the profile. ``smoke`` runs in
seconds for CI, ``default`` on a laptop CPU, ``paper`` at the paper's scale (GPU advised).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """Sizes of one run profile."""

    name: str
    # Sec. 6.1: qualitative synthesis on photos.
    n_photos: int            # builtin photos used for the figures
    n_va_targets: int        # VA points per photo for static synthesis (Figs. 7, 8)
    n_path_frames: int       # frames of a temporal sequence along a VA path (Fig. 10)
    # Sec. 3.1 to 3.3: the 4D gallery (4DFAB: 180 subjects, 1,580 sequences, about 600,000 frames).
    gallery_subjects: int
    gallery_sequences: int
    gallery_mean_frames: int
    gallery_apex_per_expression: int  # posed apex meshes per basic expression (paper: 2,000)
    n_va_classes: int                 # Sec. 4.5.1: 550 agglomerative classes
    sparse_components: int            # Sec. 4.5.3: sparse blendshapes per basic expression
    n_variations: int                 # sampled variations per expression shown (Sec. 4.5.3)
    # Sec. 5: stand-in databases, as a fraction of Table 1's sizes, capped per database.
    data_scale: float
    data_max_per_database: int | None
    # Table 1: augmentation of the stand-ins (None: every neutral face, as the paper).
    augment_neutral_per_database: int | None
    augment_va_targets: int              # paper's Table 1 implies 57 per neutral face


PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", n_photos=1, n_va_targets=2, n_path_frames=3,
                     gallery_subjects=6, gallery_sequences=12, gallery_mean_frames=40,
                     gallery_apex_per_expression=10, n_va_classes=20, sparse_components=3,
                     n_variations=2, data_scale=0.0005,
                     data_max_per_database=40,
                     augment_neutral_per_database=1, augment_va_targets=2),
    "default": Profile("default", n_photos=4, n_va_targets=6, n_path_frames=12,
                       gallery_subjects=60, gallery_sequences=240, gallery_mean_frames=200,
                       gallery_apex_per_expression=200, n_va_classes=550, sparse_components=8,
                       n_variations=4, data_scale=0.01,
                       data_max_per_database=3000,
                       augment_neutral_per_database=2, augment_va_targets=57),
    "paper": Profile("paper", n_photos=4, n_va_targets=12, n_path_frames=30,
                     gallery_subjects=180, gallery_sequences=1580, gallery_mean_frames=380,
                     gallery_apex_per_expression=2000, n_va_classes=550, sparse_components=8,
                     n_variations=6, data_scale=1.0,
                     data_max_per_database=None,
                     augment_neutral_per_database=None, augment_va_targets=57),
}


#: The profile names, smallest first.
NAMES: tuple[str, ...] = tuple(PROFILES)


def get(name: str) -> Profile:
    """The profile called ``name``; ValueError lists the valid names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"profile must be one of {tuple(PROFILES)}, got {name!r}") from None


def data_scale(profile: Profile, database_size: int) -> float:
    """Fraction of a database (``database_size`` images or frames) its stand-in holds."""
    if profile.data_max_per_database is None:
        return profile.data_scale
    return min(profile.data_scale, profile.data_max_per_database / database_size)
