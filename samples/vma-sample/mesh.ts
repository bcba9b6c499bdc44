/**
 * The cube of VMA's sample: 24 vertices (4 per face, so each face has its own colour and texture coordinates) and
 * 30 uint16 indices that draw the six faces as triangle strips of 4, separated by the primitive-restart index.
 * @module
 */

/** Floats per vertex: position (3), colour (3), texture coordinate (2). */
export const VERTEX_FLOATS = 8;
/** Bytes per vertex. */
export const VERTEX_STRIDE = VERTEX_FLOATS * 4;
/** Byte offsets of the attributes inside a vertex (shader locations 0, 1, 2). */
export const POSITION_OFFSET = 0;
export const COLOR_OFFSET = 12;
export const TEX_COORD_OFFSET = 24;
/** The index that restarts a triangle strip (uint16). */
export const PRIMITIVE_RESTART = 0xffff;

/** The six face colours, in the order of the faces below: -X red, +X green, -Z blue, +Z yellow, -Y cyan, +Y magenta. */
export const FACE_COLORS: readonly (readonly [number, number, number])[] = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
  [1, 1, 0],
  [0, 1, 1],
  [1, 0, 1],
];

// Per face, its four corners in strip order; texture coordinates run (0,0) (1,0) (0,1) (1,1) on every face.
const FACE_CORNERS: readonly (readonly [number, number, number])[][] = [
  [
    [-1, -1, -1],
    [-1, -1, 1],
    [-1, 1, -1],
    [-1, 1, 1],
  ], // -X
  [
    [1, -1, 1],
    [1, -1, -1],
    [1, 1, 1],
    [1, 1, -1],
  ], // +X
  [
    [1, -1, -1],
    [-1, -1, -1],
    [1, 1, -1],
    [-1, 1, -1],
  ], // -Z
  [
    [-1, -1, 1],
    [1, -1, 1],
    [-1, 1, 1],
    [1, 1, 1],
  ], // +Z
  [
    [-1, -1, -1],
    [1, -1, -1],
    [-1, -1, 1],
    [1, -1, 1],
  ], // -Y
  [
    [1, 1, -1],
    [-1, 1, -1],
    [1, 1, 1],
    [-1, 1, 1],
  ], // +Y
];
const CORNER_UV: readonly (readonly [number, number])[] = [
  [0, 0],
  [1, 0],
  [0, 1],
  [1, 1],
];

/** The interleaved vertex data, 24 * 8 floats (768 bytes). */
export function cubeVertices(): Float32Array {
  const out = new Float32Array(FACE_CORNERS.length * 4 * VERTEX_FLOATS);
  let o = 0;
  FACE_CORNERS.forEach((corners, face) => {
    corners.forEach((p, corner) => {
      out.set(p, o);
      out.set(FACE_COLORS[face]!, o + 3);
      out.set(CORNER_UV[corner]!, o + 6);
      o += VERTEX_FLOATS;
    });
  });
  return out;
}

/** The indices: per face its 4 vertices then the restart index, 30 in all (60 bytes). */
export function cubeIndices(): Uint16Array {
  const out = new Uint16Array(FACE_CORNERS.length * 5);
  for (let face = 0; face < FACE_CORNERS.length; face++) {
    for (let i = 0; i < 4; i++) out[face * 5 + i] = face * 4 + i;
    out[face * 5 + 4] = PRIMITIVE_RESTART;
  }
  return out;
}
