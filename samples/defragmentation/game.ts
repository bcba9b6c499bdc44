/**
 * The defragmentation sample's game: the levels of scene.ts made real as FrameManager resources, the live
 * defragmentation started once the memory is fragmented, the memory maps before and after it, and the frame times.
 *
 * Each loaded quad owns a Texture and a vertex Buffer made with `frames.createTexture` / `frames.createBuffer` and
 * filled with `frames.uploadImage` / `frames.upload` in the frame that loads it; unloading destroys both (through the
 * manager's release queue). The live defragmentation (`frames.defragment`) moves them while the game keeps drawing:
 * the objects stay the same, `texture.view` and `buffer.handle` name the new Vulkan objects from the frame after the
 * copy, and `onMove` is called in that frame's beginFrame. A vertex buffer needs nothing more (the renderer binds
 * `buffer.handle` each frame and reads it then); a texture's descriptor sets name the old view, so `onMove` bumps the
 * quad's `generation` and the renderer rewrites the set of each frame slot before that slot next draws the quad (a set
 * is only rewritten once the frame that last used it is complete, which beginFrame has waited for).
 *
 * Frame times are the CPU time from one `update()` to the next (one whole frame of the loop: endFrame, beginFrame,
 * recording), filed under the phase of the frame they belong to; writing a memory map is left out.
 * @module
 */
import { writeDumpPicture } from "../../engine/memory/dump-picture.js";
import {
  nvk,
  VK_FORMAT_R8G8B8A8_UNORM,
  type Allocator,
  type Buffer,
  type DefragmentationAlgorithm,
  type FrameManager,
  type Texture,
} from "../../engine/index.js";
import type { LiveDefragmentationStatus } from "../../engine/index.js";
import { CellGrid, loadingFrames, quadPixels, quadVertices, scheduleAt, type Quad } from "./scene.js";

/** Frames drawn with the finished scene before the defragmentation starts (the "before" frame times). */
export const STEADY_FRAMES = 48;

/** A quad of the scene with its resources. Made and destroyed by {@link LevelGame}. */
export interface LoadedQuad {
  readonly quad: Quad;
  readonly cell: number;
  readonly texture: Texture;
  readonly vertexBuffer: Buffer;
  /** Bumped when the texture moved: descriptor sets written at an older generation name its old view. */
  generation: number;
}

/** Options of {@link LevelGame}. */
export interface LevelGameOptions {
  levels: number;
  /** Start the live defragmentation once the scene is complete (false: the same frames without it). */
  defragment: boolean;
  algorithm: DefragmentationAlgorithm;
  maxMovesPerFrame: number;
  maxBytesPerFrame: number;
  /** Where the memory maps go (null: not written). */
  pictureBefore: string | null;
  pictureAfter: string | null;
  /** Progress lines. */
  print: (line: string) => void;
}

/** Where a frame stands in the game. */
export type GamePhase = "loading" | "before" | "during" | "after";

/** What {@link LevelGame.report} tells. */
export interface GameReport {
  readonly status: LiveDefragmentationStatus | null;
  /** Device memory blocks when the defragmentation started and at the report. */
  readonly blocksBefore: number;
  readonly blocksNow: number;
  readonly texturesMoved: number;
  readonly buffersMoved: number;
  /** Frame times per phase, in milliseconds. */
  readonly frameTimes: Readonly<Record<GamePhase, readonly number[]>>;
}

/**
 * Plays the schedule of scene.ts over a FrameManager. Made by the sample after the frame manager; `update()` is
 * called by the renderer at the start of each frame's recording; `destroy()` after the last frame completed.
 */
export class LevelGame {
  /** The quads loaded now, by cell. */
  readonly quads = new Map<number, LoadedQuad>();
  /** The frame from which the scene is complete, and the one at which the defragmentation starts. */
  readonly completeAt: number;
  readonly defragmentAt: number;
  readonly #frames: FrameManager;
  readonly #allocator: Allocator;
  readonly #options: LevelGameOptions;
  readonly #cells = new CellGrid();
  readonly #owners = new Map<Buffer | Texture, LoadedQuad>();
  readonly #times: Record<GamePhase, number[]> = { loading: [], before: [], during: [], after: [] };
  #frameNumber = -1;
  #phase: GamePhase = "loading";
  #lastUpdate = 0;
  #blocksBefore = 0;
  #texturesMoved = 0;
  #buffersMoved = 0;
  #afterWritten = false;

  /** @throws RangeError when `levels` is not a whole number from 1 to 8 (more would not fit the grid). */
  constructor(frames: FrameManager, allocator: Allocator, options: LevelGameOptions) {
    if (!Number.isInteger(options.levels) || options.levels < 1 || options.levels > 8)
      throw new RangeError(`LevelGame: options.levels must be a whole number from 1 to 8, got ${options.levels}`);
    this.#frames = frames;
    this.#allocator = allocator;
    this.#options = options;
    this.completeAt = loadingFrames(options.levels);
    this.defragmentAt = this.completeAt + STEADY_FRAMES;
  }

  /** Frames updated so far. */
  get frameCount(): number {
    return this.#frameNumber + 1;
  }

  /** The phase of the last frame updated. */
  get phase(): GamePhase {
    return this.#phase;
  }

  /**
   * The game's part of a frame, between beginFrame and the drawing: files the previous frame's time, loads and
   * unloads what the schedule says, starts the defragmentation or notices that it ended.
   */
  update(): void {
    const now = performance.now();
    if (this.#frameNumber >= 0) this.#times[this.#phase].push(now - this.#lastUpdate);
    this.#lastUpdate = now;
    const n = ++this.#frameNumber;
    const levels = this.#options.levels;
    const step = scheduleAt(n, levels);
    for (const quad of step.load) this.#load(quad);
    if (step.unload >= 0) this.#unload(step.unload);

    const frames = this.#frames;
    if (n < this.completeAt) this.#phase = "loading";
    else if (n < this.defragmentAt) this.#phase = "before";
    else if (n === this.defragmentAt) {
      this.#phase = "during";
      this.#blocksBefore = this.#blocks();
      if (this.#options.pictureBefore !== null) this.#picture(this.#options.pictureBefore, "before");
      if (this.#options.defragment) {
        const o = this.#options;
        frames.defragment({
          algorithm: o.algorithm,
          maxMovesPerFrame: o.maxMovesPerFrame,
          maxBytesPerFrame: o.maxBytesPerFrame,
          onMove: (resource) => this.#moved(resource),
        });
        this.#options.print(
          `frame ${n}: live defragmentation started (${o.algorithm}, at most ${o.maxMovesPerFrame} moves and ${o.maxBytesPerFrame} bytes a frame) over ${this.#blocksBefore} memory blocks`,
        );
      }
    } else if (this.#phase === "during" && (!this.#options.defragment || frames.defragmentation?.active !== true)) {
      // Without defragmentation, "during" is as long as the run with it would wait for nothing: one frame.
      this.#phase = "after";
      if (this.#options.defragment) this.#finished(n);
    }
  }

  /** Writes the after picture if the defragmentation had not finished (the run ended first). */
  finish(): void {
    if (this.#options.defragment && this.#frameNumber >= this.defragmentAt && !this.#afterWritten) {
      this.#options.print(`the run ended with the defragmentation still running`);
      this.#finished(this.#frameNumber);
    }
  }

  /** Figures of the run so far. */
  report(): GameReport {
    return {
      status: this.#frames.defragmentation,
      blocksBefore: this.#blocksBefore,
      blocksNow: this.#blocks(),
      texturesMoved: this.#texturesMoved,
      buffersMoved: this.#buffersMoved,
      frameTimes: this.#times,
    };
  }

  /** Destroys every loaded quad's resources (through the release queue). A second call does nothing. */
  destroy(): void {
    for (const loaded of this.quads.values()) this.#release(loaded);
    this.quads.clear();
  }

  #load(quad: Quad): void {
    const frames = this.#frames;
    const name = `L${quad.level} #${quad.index}`;
    const size = quad.textureSize;
    const texture = frames.createTexture({
      label: `${name} texture`,
      width: size,
      height: size,
      format: VK_FORMAT_R8G8B8A8_UNORM,
    });
    let vertexBuffer: Buffer;
    try {
      frames.uploadImage(texture, quadPixels(quad));
      const vertices = quadVertices(quad);
      vertexBuffer = frames.createBuffer({
        label: `${name} mesh`,
        size: vertices.byteLength,
        usage: nvk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
      });
      frames.upload(vertexBuffer, vertices);
    } catch (error) {
      texture.destroy();
      throw error;
    }
    const loaded: LoadedQuad = { quad, cell: this.#cells.take(), texture, vertexBuffer, generation: 1 };
    this.quads.set(loaded.cell, loaded);
    this.#owners.set(texture, loaded);
    this.#owners.set(vertexBuffer, loaded);
  }

  #unload(level: number): void {
    for (const [cell, loaded] of this.quads) {
      if (loaded.quad.level !== level || loaded.quad.trophy) continue;
      this.#release(loaded);
      this.quads.delete(cell);
      this.#cells.give(cell);
    }
  }

  #release(loaded: LoadedQuad): void {
    this.#owners.delete(loaded.texture);
    this.#owners.delete(loaded.vertexBuffer);
    loaded.texture.destroy();
    loaded.vertexBuffer.destroy();
  }

  /** onMove: the resource names its new Vulkan object from this frame on. */
  #moved(resource: Buffer | Texture): void {
    const loaded = this.#owners.get(resource);
    if (loaded === undefined) return;
    if (resource === loaded.texture) {
      loaded.generation++;
      this.#texturesMoved++;
    } else this.#buffersMoved++;
  }

  #finished(n: number): void {
    const s = this.#frames.defragmentation;
    this.#options.print(
      `frame ${n}: live defragmentation ${s?.active === true ? "still running" : "done"}: ${s?.resourcesMoved ?? 0} resources moved in ${s?.passes ?? 0} passes, memory blocks ${this.#blocksBefore} -> ${this.#blocks()}`,
    );
    if (this.#options.pictureAfter !== null) this.#picture(this.#options.pictureAfter, "after");
    this.#afterWritten = true;
  }

  /** Writes a memory map; the time it takes is left out of the frame's time (it is the sample's, not the game's). */
  #picture(file: string, when: string): void {
    const start = performance.now();
    const picture = writeDumpPicture(this.#allocator.dump(), file);
    this.#options.print(`memory map ${when} defragmentation: ${file} (${picture.width}x${picture.height})`);
    this.#lastUpdate += performance.now() - start;
  }

  #blocks(): number {
    return this.#allocator.calculateStatistics().total.blockCount;
  }
}
