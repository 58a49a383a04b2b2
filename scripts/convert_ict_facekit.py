"""Convert the ICT-FaceKit face model into the compact asset used as the default 3DMM.

The paper fits LSFM (Sec. 3.4.2), which is licensed. The default model of this package is
the ICT-FaceKit "light" face model (MIT licence): a neutral mesh, 100 identity components and
53 ARKit-named expression blendshapes, all stored as full OBJ meshes on one topology, plus
the 68 Multi-PIE landmark vertex indices.

What this script keeps, and why:

* the "full face area" (vertices 0-9408, polygons 0-9229 in the ICT README): the skin that is
  rendered back into a photo. The head, neck, eye sockets, mouth socket, teeth and eyeballs
  are dropped: they are either hidden by hair, outside the blended region, or would need
  texture the photo cannot give (the mouth interior of a closed-mouth photo). The eyes and
  the mouth stay open holes, so the photo's own eyes show through; triangles that close the
  three holes are stored separately (``hole_triangles``) for a renderer that wants to paint
  an opened mouth.
* quads split into two triangles along the (0, 2) diagonal, keeping the winding;
* identity components as ``identity_k - neutral`` (already scaled by their standard
  deviation, so their prior variance is 1) and expressions as ``expression - neutral``;
* a left/right mirror vertex map (the ICT topology is symmetric about x = 0).

Get the model with ``git clone https://github.com/ICT-VGL/ICT-FaceKit`` (about 400 MB of OBJ
files), then run::

    python scripts/convert_ict_facekit.py path/to/ICT-FaceKit

The asset is written to ``affect/assets/ict_face_model.npz`` with float16 displacements
(about 0.1 mm resolution).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

# Face area of the ICT topology, from the "Face Area Details" table of the ICT-FaceKit README.
FACE_VERTEX_COUNT = 9409
FACE_POLYGON_COUNT = 9230
N_IDENTITY = 100
REPOSITORY = "https://github.com/ICT-VGL/ICT-FaceKit"
LICENCE = "MIT License, Copyright (c) 2020 USC Institute for Creative Technologies"
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "affect" / "assets" / "ict_face_model.npz"
# Largest distance (cm) between a reflected vertex and its mirror partner; the ICT mesh is
# symmetric to about 0.05 mm.
MIRROR_TOLERANCE_CM = 0.01


def read_obj(path: Path) -> tuple[np.ndarray, list[list[int]]]:
    """Read vertex positions and 0-based polygon vertex indices of an OBJ file.

    Hand-written rather than using a mesh library because only ``v`` and ``f`` records are
    needed and ICT's OBJ files carry texture indices (``f v/vt``) we drop.
    """
    vertices, polygons = [], []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("v "):
                vertices.append(line.split()[1:4])
            elif line.startswith("f "):
                polygons.append([int(token.split("/")[0]) - 1 for token in line.split()[1:]])
    if not vertices:
        raise ValueError(f"{path}: no vertices found")
    return np.asarray(vertices, dtype=np.float64), polygons


def read_vertices(path: Path, n_expected: int) -> np.ndarray:
    """Read only the vertex positions of an OBJ file, checking the vertex count."""
    vertices, _ = read_obj(path)
    if len(vertices) != n_expected:
        raise ValueError(f"{path}: {len(vertices)} vertices, expected {n_expected}")
    return vertices


def crop_and_triangulate(polygons: list[list[int]], n_polygons: int, n_vertices: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the first ``n_polygons`` polygons, split them into triangles, reindex vertices.

    Returns
    -------
    triangles : (T, 3) int32, indices into the kept vertices.
    kept : (M,) int64, original index of each kept vertex (sorted).
    """
    triangles = []
    for polygon in polygons[:n_polygons]:
        for k in range(1, len(polygon) - 1):  # fan split keeps the winding order
            triangles.append((polygon[0], polygon[k], polygon[k + 1]))
    triangles = np.asarray(triangles, dtype=np.int64)
    kept = np.unique(triangles)
    if kept.max() >= n_vertices:
        raise ValueError(f"face polygons reference vertex {kept.max()} >= {n_vertices}")
    remap = np.full(n_vertices, -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    return remap[triangles].astype(np.int32), kept


def hole_loops(triangles: np.ndarray) -> list[np.ndarray]:
    """Return the ordered boundary loops of a triangle mesh, longest (outer rim) first.

    Each loop runs opposite to the boundary edges' direction in their triangles, so a fan
    over it closes the hole with the mesh's winding.
    """
    edges = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    directed = {tuple(e) for e in edges.tolist()}
    boundary = [(a, b) for a, b in directed if (b, a) not in directed]
    following = {b: a for a, b in boundary}  # walk each boundary edge backwards
    if len(following) != len(boundary):
        raise ValueError("mesh boundary is not a set of simple loops")
    loops, seen = [], set()
    for start in following:
        if start in seen:
            continue
        loop, vertex = [], start
        while vertex not in seen:
            seen.add(vertex)
            loop.append(vertex)
            vertex = following[vertex]
        loops.append(np.asarray(loop, dtype=np.int64))
    return sorted(loops, key=len, reverse=True)


def fan_triangles(loop: np.ndarray) -> np.ndarray:
    """Triangulate a closed vertex loop as a fan from its first vertex; (len - 2, 3) int32."""
    return np.stack([np.full(len(loop) - 2, loop[0]), loop[1:-1], loop[2:]], axis=1).astype(np.int32)


def git_commit(root: Path) -> str:
    """Return the commit of a git checkout, or 'unknown' when it is not one."""
    try:
        result = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return result.stdout.strip()


def convert(root: Path, output: Path, commit: str | None = None) -> Path:
    """Read the ICT-FaceKit repository at ``root`` and write the compact model asset."""
    from affect.face.morphable_model import MorphableModel, mirror_vertex_map, save_model

    folder = root / "FaceXModel"
    index_file = folder / "vertex_indices.json"
    if not index_file.is_file():
        raise ValueError(f"{root}: no FaceXModel/vertex_indices.json; is this ICT-FaceKit?")
    metadata = json.loads(index_file.read_text(encoding="utf-8"))
    expression_names = list(metadata["expressions"])
    landmarks = np.asarray(metadata["idx_to_landmark_verts"], dtype=np.int64)

    neutral, polygons = read_obj(folder / "generic_neutral_mesh.obj")
    triangles, kept = crop_and_triangulate(polygons, FACE_POLYGON_COUNT, len(neutral))
    if len(kept) != FACE_VERTEX_COUNT:
        raise ValueError(f"face area has {len(kept)} vertices, expected {FACE_VERTEX_COUNT}")
    remap = np.full(len(neutral), -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    if landmarks.shape != (68,) or np.any(remap[landmarks] < 0):
        raise ValueError("landmark vertices are not all inside the face area")

    def deltas(names: list[str]) -> np.ndarray:
        out = np.empty((len(names), len(kept), 3))
        for k, name in enumerate(names):
            print(f"\rreading {name:<20s} ({k + 1}/{len(names)})", end="", file=sys.stderr)
            out[k] = read_vertices(folder / f"{name}.obj", len(neutral))[kept] - neutral[kept]
        print(file=sys.stderr)
        return out

    identity = deltas([f"identity{k:03d}" for k in range(N_IDENTITY)])
    expression = deltas(expression_names)
    mean = neutral[kept]
    loops = hole_loops(triangles)
    holes = np.concatenate([fan_triangles(loop) for loop in loops[1:]])  # skip the outer rim
    mirror = mirror_vertex_map(mean, tolerance=MIRROR_TOLERANCE_CM)
    unpaired = int(np.sum((mirror == np.arange(len(mean))) & (np.abs(mean[:, 0]) > 1e-3)))
    if unpaired:
        raise ValueError(f"{unpaired} off-centre vertices have no mirror partner")

    model = MorphableModel(
        mean=mean,
        identity_basis=identity,
        identity_variance=np.ones(N_IDENTITY),  # components are pre-scaled by their std
        expression_basis=expression,
        expression_names=tuple(expression_names),
        landmark_indices=remap[landmarks],
        triangles=triangles,
        mirror_indices=mirror,
        hole_triangles=holes,
        name="ict-facekit",
        source=f"ICT-FaceKit face model ({REPOSITORY}, commit {commit or git_commit(root)}); face area only; {LICENCE}",
    )
    return save_model(model, output, compact=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(
            "Convert the ICT-FaceKit face model (MIT licence) into the compact default 3D "
            "morphable model of the affect package. Get the model first with "
            "'git clone https://github.com/ICT-VGL/ICT-FaceKit'."
        )
    )
    parser.add_argument("ict_root", type=Path, help="folder of an ICT-FaceKit checkout")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="asset to write (.npz)")
    parser.add_argument(
        "--commit",
        help="ICT-FaceKit commit to record in the asset (default: read from the checkout)",
    )
    args = parser.parse_args(argv)
    try:
        path = convert(args.ict_root, args.output, args.commit)
    except (OSError, ValueError) as error:
        parser.exit(1, f"convert_ict_facekit: error: {error}\n")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
