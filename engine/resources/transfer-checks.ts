/**
 * The argument checks of a {@link FrameManager}'s per-call transfers and transient memory: `upload`, `uploadImage`,
 * `download`, `downloadImage` and `allocateTransient`, checked whole before the manager does anything.
 *
 * Ownership comes first. A buffer or texture is accepted only when it is a Buffer or Texture made by this very
 * manager (its `_manager` is the manager) and not destroyed: a resource of another manager, or an object that merely
 * looks like one, must never reach a command buffer, because its handles may belong to another device or to memory
 * whose uses this manager does not track. Then the data, offsets, sizes, regions and usages are checked against that
 * resource. A bad argument throws a TypeError or RangeError that names the call, the argument and the bad value (a
 * destroyed resource throws DestroyedResourceError), and nothing has been copied, queued or allocated then: the
 * checks change no state, and the manager changes its own only after they passed.
 *
 * These run on every upload, the hottest path of a frame: the message prefixes are made once, with the checker, and
 * a message is built only when it is thrown, so that a call with good arguments makes no string, closure or object
 * of its own here. A check hands back what the manager goes on with (the bytes, the size, the completed region, the
 * alignment) instead of an object holding several of them.
 * @internal
 * @module
 */
import { checkBytes } from "../checks.js";
import { DestroyedResourceError, describeValue } from "../errors.js";
import { regionBytes } from "../vulkan/formats.js";
import { Buffer } from "./buffer.js";
import { completeRegion, type ImageRegion } from "./image-region.js";
import { Owner, type ResourceOwner } from "./resource.js";
import { Texture } from "./texture.js";
import type { TransientUsage } from "./transient-memory.js";

/** The checks of one FrameManager's transfer calls: made by its constructor, dropped with it. @internal */
export class TransferChecks {
  /**
   * The region the last {@link uploadImage} check completed, for the upload that follows it at once (the check
   * returns the bytes: one call, no pair object).
   */
  region: Required<ImageRegion> | null = null;
  readonly #manager: ResourceOwner;
  /** "FrameManager 'label'": every message starts with it. */
  readonly #name: string;
  readonly #uploadImageOp: string;
  readonly #downloadImageOp: string;
  /** The alignment of each transient usage (transient-memory.ts). */
  readonly #transientAlign: Record<TransientUsage, number>;
  /** The usage {@link transient} last accepted, and its alignment. */
  #lastUsage: unknown = undefined;
  #lastAlign = 1;

  /** `name` is the manager's ("FrameManager 'label'"); `transientAlign` its transientAlignments(). */
  constructor(manager: ResourceOwner, name: string, transientAlign: Record<TransientUsage, number>) {
    this.#manager = manager;
    this.#name = name;
    this.#uploadImageOp = `${name}.uploadImage`;
    this.#downloadImageOp = `${name}.downloadImage`;
    this.#transientAlign = transientAlign;
  }

  /**
   * Checks `upload(buffer, data, offset)` and returns the data as bytes (possibly empty: nothing to copy then).
   * @throws TypeError / RangeError, DestroyedResourceError: see FrameManager.upload.
   */
  upload(buffer: Buffer, data: ArrayBufferView | ArrayBuffer, offset: number): Uint8Array {
    this.#ownBuffer(buffer, "upload");
    // A Uint8Array with bytes is the fast path; an empty one may be a view of a detached buffer: checkBytes tells.
    const bytes =
      data instanceof Uint8Array && data.length !== 0 ? data : checkBytes(data, `${this.#name}.upload`, "data");
    const length = bytes.length;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > buffer.size) {
      throw new RangeError(
        `${this.#name}.upload: offset ${describeValue(offset)} + ${length} bytes must lie within buffer '${buffer.label}' of ${buffer.size} bytes`,
      );
    }
    return bytes;
  }

  /**
   * Checks `uploadImage(texture, data, region)`: returns the data as bytes and leaves the completed region in
   * {@link region}.
   * @throws TypeError / RangeError, DestroyedResourceError: see FrameManager.uploadImage.
   */
  uploadImage(texture: Texture, data: ArrayBufferView | ArrayBuffer, region: ImageRegion | undefined): Uint8Array {
    const op = this.#uploadImageOp;
    this.#ownTexture(texture, "uploadImage");
    if (texture.depth > 1)
      throw new RangeError(`${op}: texture '${texture.label}' is 3D; uploads take 2D textures (and arrays)`);
    if (texture.aspect !== 1)
      throw new RangeError(`${op}: texture '${texture.label}' has a depth/stencil format; uploads take colour formats`);
    const r = completeRegion(op, texture, region);
    const bytes = checkBytes(data, op, "data");
    const expected = regionBytes(texture.formatInfo, r.width, r.height);
    if (bytes.length !== expected)
      throw new RangeError(
        `${op}: data must hold ${expected} bytes for a ${r.width}x${r.height} region of texture '${texture.label}' (${texture.formatInfo.name}), got ${bytes.length}`,
      );
    this.region = r;
    return bytes;
  }

  /**
   * Checks `download(buffer, offset, size)` and returns the size (the rest of the buffer when `size` is undefined).
   * @throws TypeError / RangeError, DestroyedResourceError: see FrameManager.download.
   */
  download(buffer: Buffer, offset: number, size: number | undefined): number {
    this.#ownBuffer(buffer, "download");
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= buffer.size)
      throw new RangeError(
        `${this.#name}.download: offset must be an integer from 0 to ${buffer.size - 1}, got ${describeValue(offset)}`,
      );
    const n = size ?? buffer.size - offset;
    if (!Number.isSafeInteger(n) || n <= 0 || offset + n > buffer.size)
      throw new RangeError(
        `${this.#name}.download: size must be a positive integer with offset + size <= ${buffer.size} (buffer '${buffer.label}'), got ${describeValue(size)}`,
      );
    return n;
  }

  /**
   * Checks `downloadImage(texture, region)` and returns the completed region, whose subresource has contents.
   * @throws TypeError / RangeError, DestroyedResourceError: see FrameManager.downloadImage.
   */
  downloadImage(texture: Texture, region: ImageRegion | undefined): Required<ImageRegion> {
    const op = this.#downloadImageOp;
    this.#ownTexture(texture, "downloadImage");
    if (texture.depth > 1 || texture.aspect !== 1)
      throw new RangeError(`${op}: texture '${texture.label}' must be a 2D colour texture`);
    const r = completeRegion(op, texture, region);
    const sub = r.mipLevel * texture.arrayLayers + r.arrayLayer;
    if (texture._owners[sub] === Owner.None)
      throw new RangeError(
        `${op}: mip ${r.mipLevel} layer ${r.arrayLayer} of texture '${texture.label}' has no contents yet (nothing uploaded)`,
      );
    return r;
  }

  /**
   * Checks `allocateTransient(size, usage)` and returns the alignment of `usage`.
   * @throws RangeError for a bad size or usage.
   */
  transient(size: number, usage: TransientUsage): number {
    // A frame's transient allocations mostly repeat one usage: the last one that passed is compared by identity.
    let align: number | undefined;
    if (usage === this.#lastUsage) align = this.#lastAlign;
    else {
      // Checked as a string first: an object without a prototype or a Symbol as a property key throws inside V8.
      align = typeof usage === "string" ? this.#transientAlign[usage] : undefined;
      if (align !== undefined && Object.hasOwn(this.#transientAlign, usage)) {
        this.#lastUsage = usage;
        this.#lastAlign = align;
      } else align = undefined;
    }
    if (align === undefined) {
      throw new RangeError(
        `${this.#name}.allocateTransient: usage must be "uniform", "storage", "vertex", "index" or "copy", got ${describeValue(usage)}`,
      );
    }
    if (!Number.isSafeInteger(size) || size <= 0)
      throw new RangeError(
        `${this.#name}.allocateTransient: size must be a positive integer number of bytes, got ${describeValue(size)}`,
      );
    return align;
  }

  /** Throws unless `buffer` is a live Buffer of this manager (a foreign handle must never be recorded). */
  #ownBuffer(buffer: unknown, method: string): asserts buffer is Buffer {
    if (!(buffer instanceof Buffer) || buffer._manager !== this.#manager) {
      throw new TypeError(
        `${this.#name}.${method}: buffer must be a Buffer made by this manager's createBuffer, got ${describeValue(buffer)}`,
      );
    }
    if (buffer.destroyed) throw new DestroyedResourceError("Buffer", buffer.label, method);
  }

  /** Throws unless `texture` is a live Texture of this manager. */
  #ownTexture(texture: unknown, method: string): asserts texture is Texture {
    if (!(texture instanceof Texture) || texture._manager !== this.#manager) {
      throw new TypeError(
        `${this.#name}.${method}: texture must be a Texture made by this manager's createTexture, got ${describeValue(texture)}`,
      );
    }
    if (texture.destroyed) throw new DestroyedResourceError("Texture", texture.label, method);
  }
}
