"""The VA-annotated 4D face gallery and the affect model learned from it (Sec. 3, 4.5).

- :mod:`~affect.gallery.fourdfab`: the gallery on disk (4DFAB layout): subjects, sequences,
  frames with VA annotations, apex meshes of the basic expressions (Sec. 3.1 to 3.3)
- :mod:`~affect.gallery.proxy`: the procedural stand-in gallery, written in that layout
- :mod:`~affect.gallery.affect_mapping`: VA -> action units -> blendshapes, for the stand-in
- :mod:`~affect.gallery.va_classes`: the 550 agglomerative VA classes (Sec. 4.5.1)
- :mod:`~affect.gallery.sparse_blendshapes`: sparse localized blendshapes (Sec. 4.5.3, Eq. 5)
- :mod:`~affect.gallery.affect_model`: class and expression mean faces, what synthesis adds

Submodules are imported on use.
"""

__all__ = ["affect_mapping", "affect_model", "fourdfab", "sparse_blendshapes", "proxy", "va_classes"]
