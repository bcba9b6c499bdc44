/**
 * VMA's sample (samples/vma-sample), headless, on real Vulkan with the validation layer and synchronization
 * validation on: the golden image, the parts it is built from (mesh, texture, the original's matrices), the
 * command line, and the compiled program end to end (exit code, zero validation messages, zero leaks).
 *
 * The golden image, test/samples/vma-sample.golden.png, is the sample's own output at 320x240 and t = 1.25 s,
 * looked at and found right: the cube with its near corner toward the viewer, the +Z face yellow with the full
 * stripe pattern (red and yellow columns, green rows), the -X face red (only the red channel of the stripes), the
 * -Y face cyan on top (green and blue), back faces culled, clear colour (64, 64, 128) around it.
 *
 * Tolerance: lavapipe is deterministic for a given Mesa/LLVM build, so on the machine that made the golden the
 * difference is zero. Other builds or CPUs (llvmpipe's vector width follows the CPU) may round texture filtering
 * and edge coverage differently: a pixel counts as different when a channel is off by more than 24 (of 255), and
 * up to 0.5% of the pixels (384 of 76,800, about the length of the cube's silhouette) may differ. A real change
 * (another time, face, colour or depth order) changes thousands of pixels, as the test checks against t = 0.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { mat4 } from "gl-matrix";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createAllocator,
  createFrameManager,
  type Allocator,
  type Context,
  type FrameManager,
} from "../../engine/index.js";
import { runHeadless } from "../../samples/common/headless-loop.js";
import { OffscreenTarget } from "../../samples/common/offscreen-target.js";
import { compareImages, readPng, type RgbaImage } from "../../samples/common/png.js";
import { parseArgs, wantsWindow } from "../../samples/vma-sample/main.js";
import {
  COLOR_OFFSET,
  FACE_COLORS,
  PRIMITIVE_RESTART,
  VERTEX_FLOATS,
  cubeIndices,
  cubeVertices,
} from "../../samples/vma-sample/mesh.js";
import {
  CubeRenderer,
  FIELD_OF_VIEW,
  FAR,
  NEAR,
  ROTATION_SPEED,
  modelViewProjection,
} from "../../samples/vma-sample/renderer.js";
import { TEXTURE_SIZE, stripeTexture } from "../../samples/vma-sample/texture.js";
import { useGpuContext, validationArgs, validationAvailable } from "../helpers/gpu.js";

const GOLDEN = path.join(import.meta.dirname, "vma-sample.golden.png");
const GOLDEN_TIME = 1.25;
const CHANNEL_TOLERANCE = 24;
const MAX_DIFFERING_FRACTION = 0.005;

describe("the parts", () => {
  test("the cube: 24 vertices, six faces of four as strips ended by the restart index, the original's face colours", () => {
    const vertices = cubeVertices();
    const indices = cubeIndices();
    expect(vertices.length).toBe(24 * VERTEX_FLOATS);
    expect([...indices]).toEqual([
      0, 1, 2, 3, 0xffff, 4, 5, 6, 7, 0xffff, 8, 9, 10, 11, 0xffff, 12, 13, 14, 15, 0xffff, 16, 17, 18, 19, 0xffff, 20,
      21, 22, 23, 0xffff,
    ]);
    expect(PRIMITIVE_RESTART).toBe(0xffff);
    expect(FACE_COLORS).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [1, 1, 0],
      [0, 1, 1],
      [1, 0, 1],
    ]);
    for (let v = 0; v < 24; v++) {
      const colour = [
        ...vertices.subarray(v * VERTEX_FLOATS + COLOR_OFFSET / 4, v * VERTEX_FLOATS + COLOR_OFFSET / 4 + 3),
      ];
      expect(colour).toEqual(FACE_COLORS[v >> 2]);
      // Each face lies in one plane: the axis of its colour's face (-X, +X, -Z, +Z, -Y, +Y) is constant.
      const axis = [0, 0, 2, 2, 1, 1][v >> 2]!;
      const sign = [-1, 1, -1, 1, -1, 1][v >> 2]!;
      expect(vertices[v * VERTEX_FLOATS + axis]).toBe(sign);
    }
  });

  test("the texture: 128x128 RGBA8, 8-texel stripes from bits 3-4 of x (red, yellow) and y (green, blue), alpha 0", () => {
    const t = stripeTexture();
    expect(TEXTURE_SIZE).toBe(128);
    expect(t.length).toBe(128 * 128 * 4);
    const at = (x: number, y: number) => [...t.subarray((y * 128 + x) * 4, (y * 128 + x) * 4 + 4)];
    expect(at(0, 0)).toEqual([0, 0, 0, 0]);
    expect(at(8, 0)).toEqual([255, 0, 0, 0]); // red column
    expect(at(16, 0)).toEqual([255, 255, 0, 0]); // yellow column
    expect(at(24, 0)).toEqual([0, 0, 0, 0]);
    expect(at(0, 8)).toEqual([0, 255, 0, 0]); // green row
    expect(at(0, 16)).toEqual([0, 0, 255, 0]); // blue row
    expect(at(8, 16)).toEqual([255, 0, 255, 0]); // red column over a blue row
    expect(at(40, 40)).toEqual(at(8, 8)); // period 32
  });

  test("the matrix equals the original's left-handed, row-vector one (LookAt, Perspective, RotationY from its Common.h)", () => {
    // The original's math (VMA src/Common.h), written out here: row-major, v' = v * M.
    type M = number[]; // 16, row-major
    const mul = (a: M, b: M): M =>
      Array.from({ length: 16 }, (_, i) =>
        [0, 1, 2, 3].reduce((s, k) => s + a[(i >> 2) * 4 + k]! * b[k * 4 + (i & 3)]!, 0),
      );
    const sub = (a: number[], b: number[]) => a.map((v, i) => v - b[i]!);
    const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
    const norm = (a: number[]) => a.map((v) => v / Math.hypot(...a));
    const cross = (a: number[], b: number[]) => [
      a[1]! * b[2]! - a[2]! * b[1]!,
      a[2]! * b[0]! - a[0]! * b[2]!,
      a[0]! * b[1]! - a[1]! * b[0]!,
    ];
    const lookAt = (at: number[], eye: number[], up: number[]): M => {
      const z = norm(sub(at, eye));
      const x = norm(cross(up, z));
      const y = cross(z, x);
      return [
        x[0]!,
        y[0]!,
        z[0]!,
        0,
        x[1]!,
        y[1]!,
        z[1]!,
        0,
        x[2]!,
        y[2]!,
        z[2]!,
        0,
        -dot(x, eye),
        -dot(y, eye),
        -dot(z, eye),
        1,
      ];
    };
    const perspective = (fovY: number, aspect: number, n: number, f: number): M => {
      const ys = 1 / Math.tan(fovY / 2);
      return [ys / aspect, 0, 0, 0, 0, ys, 0, 0, 0, 0, f / (f - n), 1, 0, 0, (-n * f) / (f - n), 0];
    };
    const rotationY = (a: number): M => [
      Math.cos(a),
      0,
      -Math.sin(a),
      0,
      0,
      1,
      0,
      0,
      Math.sin(a),
      0,
      Math.cos(a),
      0,
      0,
      0,
      0,
      1,
    ];
    for (const [t, aspect] of [
      [0, 4 / 3],
      [1.25, 16 / 9],
      [3.7, 1],
    ] as const) {
      const viewProj = mul(lookAt([0, 0, 0], [0, -2, 4], [0, 1, 0]), perspective(FIELD_OF_VIEW, aspect, NEAR, FAR));
      const original = mul(rotationY(t * ROTATION_SPEED), viewProj); // row-major storage = what GLSL reads as column-major
      const ours = modelViewProjection(mat4.create(), t, aspect);
      for (let i = 0; i < 16; i++) expect(ours[i]).toBeCloseTo(original[i]!, 5);
    }
  });

  test("the command line: defaults, every flag, and errors that say what is wrong", () => {
    const d = parseArgs([]);
    expect(d).toMatchObject({ mode: "auto", width: 800, height: 600, validation: false, resizes: [], pauseAfter: [] });
    expect(wantsWindow(d as Exclude<typeof d, string>, { DISPLAY: ":1" })).toBe(true);
    expect(wantsWindow(d as Exclude<typeof d, string>, {})).toBe(false);
    expect(
      parseArgs([
        "--window",
        "--frames",
        "300",
        "--time",
        "2.5",
        "--out",
        "x.png",
        "--width",
        "640",
        "--height",
        "360",
        "--validation",
        "--resize-at",
        "100:800x600",
        "--pause-after",
        "7",
        "--quiet",
      ]),
    ).toEqual({
      mode: "window",
      frames: 300,
      time: 2.5,
      out: "x.png",
      width: 640,
      height: 360,
      validation: true,
      resizes: [{ atFrame: 100, width: 800, height: 600 }],
      pauseAfter: [7],
      quiet: true,
    });
    expect(parseArgs(["--headless", "--window"])).toMatch(/exclude each other/);
    expect(parseArgs(["--frames", "0"])).toMatch(/--frames needs a whole number from 1/);
    expect(parseArgs(["--time", "soon"])).toMatch(/--time needs a number of seconds, got soon/);
    expect(parseArgs(["--resize-at", "10:800"])).toMatch(/FRAME:WIDTHxHEIGHT/);
    expect(parseArgs(["--frobnicate"])).toBe("unknown argument --frobnicate");
    expect(parseArgs(["--help"])).toBe("help");
  });
});

describe("headless rendering", () => {
  const gpu = useGpuContext({ applicationName: "vkmem vma-sample tests", synchronizationValidation: true });
  let context: Context;
  let allocator: Allocator;
  let frames: FrameManager;
  let renderer: CubeRenderer;
  let target: OffscreenTarget;

  beforeAll(() => {
    context = gpu.context;
    allocator = createAllocator(context, { label: "vma-sample test" });
    frames = createFrameManager(context, allocator, { framesInFlight: 2 });
    renderer = new CubeRenderer(context, allocator, frames);
    target = new OffscreenTarget(context, allocator, { width: 320, height: 240 });
  });
  afterAll(() => {
    frames.waitIdle();
    renderer.destroy();
    target.destroy();
    frames.destroy();
    expect(allocator.allocationCount).toBe(0);
    expect(allocator.destroy()).toEqual([]);
  });

  const render = (time: number, frameCount = 3): RgbaImage => {
    const { image } = runHeadless({ frames, target, renderer, frameCount, timeSeconds: time });
    for (let i = 3; i < image.data.length; i += 4) image.data[i] = 255; // as writePng does
    return image;
  };

  test("matches the golden image within the tolerance, and a different time does not", () => {
    const golden = readPng(GOLDEN);
    const image = render(GOLDEN_TIME);
    const diff = compareImages(image, golden, CHANNEL_TOLERANCE);
    expect(diff.differingPixels, `max channel difference ${diff.maxChannelDifference}`).toBeLessThanOrEqual(
      diff.pixels * MAX_DIFFERING_FRACTION,
    );
    const other = compareImages(render(0), golden, CHANNEL_TOLERANCE);
    expect(other.differingPixels).toBeGreaterThan(diff.pixels * 0.05);
  });

  test("the frame shows the clear colour around the cube and the three face colours a viewer sees at t = 1.25 s", () => {
    const image = render(GOLDEN_TIME);
    const px = (x: number, y: number) => [...image.data.subarray((y * 320 + x) * 4, (y * 320 + x) * 4 + 3)];
    expect(px(5, 5)).toEqual([64, 64, 128]); // (0.25, 0.25, 0.5) in UNORM
    const counts = { red: 0, yellow: 0, green: 0, blue: 0, clear: 0 };
    for (let i = 0; i < image.data.length; i += 4) {
      const [r, g, b] = [image.data[i]!, image.data[i + 1]!, image.data[i + 2]!];
      if (r > 200 && g < 40 && b < 40) counts.red++;
      else if (r > 200 && g > 200 && b < 40) counts.yellow++;
      else if (r < 40 && g > 200 && b < 40) counts.green++;
      else if (r < 40 && g < 40 && b > 200) counts.blue++;
      else if (r === 64 && g === 64 && b === 128) counts.clear++;
    }
    for (const [colour, n] of Object.entries(counts)) expect(n, colour).toBeGreaterThan(200);
  });

  test("anisotropic filtering follows the device, and stays off on lavapipe, whose anisotropic sampling hangs", () => {
    if (context.deviceType === "cpu") {
      expect(renderer.maxAnisotropy).toBe(0);
      expect(renderer.anisotropyReason).toMatch(/lavapipe/);
    } else {
      expect(renderer.maxAnisotropy > 0).toBe(context.features.samplerAnisotropy);
    }
  });

  test("the depth image follows the target: a second size rebuilds it (through the release queue) and renders", () => {
    const small = new OffscreenTarget(context, allocator, { width: 64, height: 48, label: "small" });
    try {
      const { image } = runHeadless({ frames, target: small, renderer, frameCount: 2, timeSeconds: 0.5 });
      expect(image.width).toBe(64);
      expect(
        new Set(
          Array.from(
            { length: 64 * 48 },
            (_, i) => image.data[i * 4]! * 65536 + image.data[i * 4 + 1]! * 256 + image.data[i * 4 + 2]!,
          ),
        ).size,
      ).toBeGreaterThan(3);
    } finally {
      frames.waitIdle();
      renderer.setTarget(target);
      small.destroy();
    }
  });
});

test("the compiled program renders headless with validation on: exit 0, zero messages, zero leaks, the PNG written", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "vkmem-sample-"));
  try {
    const out = path.join(dir, "frame.png");
    const text = execFileSync(
      process.execPath,
      [
        "dist/samples/vma-sample/main.js",
        "--headless",
        ...validationArgs,
        "--frames",
        "5",
        "--width",
        "320",
        "--height",
        "240",
        "--time",
        String(GOLDEN_TIME),
        "--out",
        out,
      ],
      { encoding: "utf8" },
    );
    expect(text).toMatch(/^Memory heaps: \d+, memory types: \d+$/m);
    expect(text).toMatch(/^Conclusions:$/m);
    expect(text).toMatch(/^Headless: 5 frame\(s\) of 320x240 at t = 1.25 s written to /m);
    expect(text).toMatch(/^Headless frame time: median [\d.]+ ms\/frame/m);
    expect(text).toMatch(/^Allocator statistics at exit/m);
    expect(text).toMatch(/^Leaks at exit: 0; allocations alive before destroy: 0$/m);
    if (validationAvailable) expect(text).toMatch(/^Validation messages: 0$/m);
    expect(existsSync(out)).toBe(true);
    const diff = compareImages(readPng(out), readPng(GOLDEN), CHANNEL_TOLERANCE);
    expect(diff.differingPixels).toBeLessThanOrEqual(diff.pixels * MAX_DIFFERING_FRACTION);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// X11's DISPLAY: Linux only. A Windows process ignores DISPLAY (under Wine the window would open on Wine's display and
// the run, having no frame limit, would never end).
test.runIf(process.platform === "linux")(
  "with DISPLAY set but no X server behind it, the default mode renders headless instead of failing",
  () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vkmem-sample-"));
    try {
      const out = path.join(dir, "frame.png");
      const text = execFileSync(
        process.execPath,
        ["dist/samples/vma-sample/main.js", "--quiet", "--width", "64", "--height", "48", "--out", out],
        {
          encoding: "utf8",
          env: { ...process.env, DISPLAY: ":65000" },
        },
      );
      expect(text).toMatch(/^No usable display \(DISPLAY=:65000: .*\); rendering headless$/m);
      expect(existsSync(out)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
