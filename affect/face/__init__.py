"""The 3D face engine: from a photo to a re-rendered face with a new expression (Sec. 3.4, 4.1 to 4.4).

The modules follow the data flow of Fig. 4:

- :mod:`~affect.face.landmarks`: face detection and the 68 iBUG landmarks (Sec. 4.1), ``.pts`` files
- :mod:`~affect.face.morphable_model`: the 3D morphable model, ICT-FaceKit or LSFM (Sec. 3.4)
- :mod:`~affect.face.camera`: the perspective camera of the fit
- :mod:`~affect.face.fitting`: Levenberg-Marquardt fitting of Eq. 4 (Sec. 4.2)
- :mod:`~affect.face.texture`: per-vertex colours sampled from the photo (Sec. 4.3)
- :mod:`~affect.face.deformation`: ``s_new = s_orig + delta_s`` (Sec. 4.3)
- :mod:`~affect.face.rendering`: the z-buffer rasteriser (Sec. 4.4)
- :mod:`~affect.face.shading`: the photo's lighting and the shading ratio of a deformed face
- :mod:`~affect.face.creases`: wrinkle maps of the action units that fold the skin
- :mod:`~affect.face.eyes`: a 2D eye model read from the photo, for lids that open further
- :mod:`~affect.face.inner_mouth`: teeth, tongue and mouth cavity where the lips part further
- :mod:`~affect.face.blending`: Poisson blending into the photo (Sec. 4.4)
- :mod:`~affect.face.reconstruction`: the steps above in one call (``reconstruct``, ``render_affect``)
- :mod:`~affect.face.recognition`: dlib's face descriptor, to check the person is unchanged
- :mod:`~affect.face.quality`: sharpness, round trip and colour drift of an edit
- :mod:`~affect.face.expression_judge`: an expression classifier trained on FER2013, to check the
  expression reads (optional: ``pip install .[judge]``)

Submodules are imported on use: some load numba kernels or dlib models.
"""

__all__ = [
    "blending",
    "camera",
    "creases",
    "deformation",
    "expression_judge",
    "eyes",
    "fitting",
    "inner_mouth",
    "landmarks",
    "morphable_model",
    "quality",
    "recognition",
    "reconstruction",
    "rendering",
    "shading",
    "texture",
]
