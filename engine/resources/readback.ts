/**
 * Readback: the downloads of a {@link FrameManager}, from the moment they are queued until their promises settle.
 *
 * A download gets its own host-visible, persistently mapped buffer, made when it is queued. The transfers record its
 * copy at the end of the command buffer that carries it (the frame's own, or the download-only submission's), after a
 * barrier that makes every earlier write visible to the copy and followed by a barrier to HOST_READ, and mark it with
 * that submission's serial (0 until then: "unrecorded"). The invariants, and why they hold:
 *
 * - A promise resolves only after the fence of the submission that carries its copy has signaled: {@link settle}
 *   takes the completed serial, which the manager raises only after a fence said so, and the download-only
 *   submission (serial {@link FLUSHED}) settles only from its own fence. The bytes are invalidated first on memory
 *   that is not host-coherent, copied out, and the readback buffer is freed at once: the promise's array is the
 *   caller's and outlives it.
 * - An image subresource read by one or more downloads goes to TRANSFER_SRC_OPTIMAL once and back to the layout it
 *   had once. One that had no layout yet (UNDEFINED or PREINITIALIZED: marked used, never written) cannot be
 *   transitioned back to, so it goes to GENERAL, and the tracking says so.
 * - No readback buffer is freed while the GPU may write it. A download rejected after submission (a fence or a
 *   submission failed: {@link abandonSubmitted}) keeps its buffer until {@link destroy}, which runs after the manager
 *   waited for the GPU. One never recorded is freed at once when rejected.
 * @internal
 * @module
 */
import { DestroyedResourceError } from "../errors.js";
import type { Allocation } from "../memory/allocation.js";
import type { Allocator } from "../memory/allocator.js";
import { MemoryUsage } from "../memory/usage.js";
import type { NvkHandle } from "../vulkan/handles.js";
import { nvk } from "../vulkan/nvk.js";
import {
  ACCESS_HOST_READ,
  ACCESS_MEMORY_READ,
  ACCESS_MEMORY_WRITE,
  ACCESS_TRANSFER_READ,
  ACCESS_TRANSFER_WRITE,
  BUFFER_USAGE_TRANSFER_DST,
  LAYOUT_GENERAL,
  LAYOUT_PREINITIALIZED,
  LAYOUT_TRANSFER_SRC,
  LAYOUT_UNDEFINED,
  MEMORY_PROPERTY_HOST_COHERENT,
  QUEUE_FAMILY_IGNORED,
  STAGE_ALL,
  STAGE_HOST,
  STAGE_TRANSFER,
} from "../vulkan/vk.js";
import { imageBarrier } from "./barriers.js";
import type { Buffer } from "./buffer.js";
import type { ImageRegion } from "./image-region.js";
import type { Texture } from "./texture.js";

/** The serial of a download submitted on its own by the download-only submission (its fence is the download fence). */
export const FLUSHED = -1;

/** One queued download; `serial` is 0 until its copy is recorded. */
interface Download {
  readonly source: Buffer | Texture;
  readonly buffer: NvkHandle;
  readonly allocation: Allocation;
  readonly size: number;
  readonly srcOffset: number;
  readonly region: Required<ImageRegion> | null;
  serial: number;
  readonly resolve: (data: Uint8Array) => void;
  readonly reject: (error: unknown) => void;
}

/** The pending downloads of one FrameManager, owned by its Transfers and destroyed with them. @internal */
export class Readbacks {
  readonly #allocator: Allocator;
  readonly #label: string;
  /** Queued and not settled: unrecorded (serial 0) or recorded in a submission not known complete. */
  readonly #pending: Download[] = [];
  /** Downloads rejected while submitted (abandonSubmitted): their buffers are freed by destroy(). */
  readonly #abandoned: Download[] = [];
  #count = 0;

  /** `label` names the readback buffers ("<label> readback of '<source>'"). */
  constructor(allocator: Allocator, label: string) {
    this.#allocator = allocator;
    this.#label = label;
  }

  /** Downloads queued since creation. */
  get count(): number {
    return this.#count;
  }

  /**
   * Queues a readback of `size` bytes of `source` (from `srcOffset` for a buffer, `region` for a texture) into a
   * readback buffer of its own, made now; it is recorded by the next {@link record}.
   * @throws VkError when the readback buffer cannot be allocated (nothing is queued then).
   */
  queue(
    source: Buffer | Texture,
    size: number,
    srcOffset: number,
    region: Required<ImageRegion> | null,
  ): Promise<Uint8Array> {
    const { buffer, allocation } = this.#allocator.createBuffer(
      { size, usage: BUFFER_USAGE_TRANSFER_DST },
      {
        usage: MemoryUsage.Auto,
        hostAccess: "random",
        mapped: true,
        name: `${this.#label} readback of '${source.label}'`,
      },
    );
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#pending.push({ source, buffer, allocation, size, srcOffset, region, serial: 0, resolve, reject });
      this.#count++;
    });
  }

  /**
   * Records the downloads not yet recorded at the end of `cmd`, under `serial` (a frame's, or {@link FLUSHED}): a
   * barrier after every earlier write, the copies, then a barrier to HOST_READ.
   */
  record(cmd: NvkHandle, serial: number): void {
    if (this.#pending.length === 0) return; // the common frame: nothing to filter
    const list = this.#pending.filter((d) => d.serial === 0);
    if (list.length === 0) return;
    // Each image subresource read goes to TRANSFER_SRC once and back once, however many downloads read it.
    const subresources: { texture: Texture; sub: number }[] = [];
    const seen = new Map<Texture, Set<number>>();
    for (const d of list) {
      if (d.region === null) continue;
      const t = d.source as Texture;
      const sub = d.region.mipLevel * t.arrayLayers + d.region.arrayLayer;
      let subs = seen.get(t);
      if (subs === undefined) seen.set(t, (subs = new Set()));
      if (!subs.has(sub)) {
        subs.add(sub);
        subresources.push({ texture: t, sub });
      }
    }
    const toSrc = subresources.map(({ texture: t, sub }) =>
      imageBarrier(
        t,
        sub,
        t._layouts[sub]!,
        LAYOUT_TRANSFER_SRC,
        ACCESS_MEMORY_WRITE,
        ACCESS_TRANSFER_READ,
        QUEUE_FAMILY_IGNORED,
        QUEUE_FAMILY_IGNORED,
      ),
    );
    nvk.vkCmdPipelineBarrier(
      cmd,
      STAGE_ALL,
      STAGE_TRANSFER,
      0,
      1,
      [new nvk.VkMemoryBarrier({ srcAccessMask: ACCESS_MEMORY_WRITE, dstAccessMask: ACCESS_TRANSFER_READ })],
      0,
      null,
      toSrc.length,
      toSrc.length > 0 ? toSrc : null,
    );
    for (const d of list) {
      if (d.region === null) {
        const b = d.source as Buffer;
        nvk.vkCmdCopyBuffer(cmd, b._parts.handle, d.buffer, 1, [
          new nvk.VkBufferCopy({ srcOffset: d.srcOffset, dstOffset: 0, size: d.size }),
        ]);
      } else {
        const t = d.source as Texture;
        const r = d.region;
        const copy = new nvk.VkBufferImageCopy({
          bufferOffset: 0,
          bufferRowLength: 0,
          bufferImageHeight: 0,
          imageSubresource: new nvk.VkImageSubresourceLayers({
            aspectMask: t.aspect,
            mipLevel: r.mipLevel,
            baseArrayLayer: r.arrayLayer,
            layerCount: 1,
          }),
          imageOffset: new nvk.VkOffset3D({ x: r.x, y: r.y, z: 0 }),
          imageExtent: new nvk.VkExtent3D({ width: r.width, height: r.height, depth: 1 }),
        });
        nvk.vkCmdCopyImageToBuffer(cmd, t._parts.image, LAYOUT_TRANSFER_SRC, d.buffer, 1, [copy]);
      }
      d.serial = serial;
    }
    // Back to the layout each had; one that had none yet (UNDEFINED or PREINITIALIZED: marked used, never written)
    // cannot be transitioned to, so it goes to GENERAL and is tracked there.
    const back = subresources.map(({ texture: t, sub }) => {
      const before = t._layouts[sub]!;
      const after = before === LAYOUT_UNDEFINED || before === LAYOUT_PREINITIALIZED ? LAYOUT_GENERAL : before;
      t._layouts[sub] = after;
      return imageBarrier(
        t,
        sub,
        LAYOUT_TRANSFER_SRC,
        after,
        ACCESS_TRANSFER_READ,
        ACCESS_MEMORY_READ | ACCESS_MEMORY_WRITE,
        QUEUE_FAMILY_IGNORED,
        QUEUE_FAMILY_IGNORED,
      );
    });
    nvk.vkCmdPipelineBarrier(
      cmd,
      STAGE_TRANSFER,
      STAGE_HOST | STAGE_ALL,
      0,
      1,
      [new nvk.VkMemoryBarrier({ srcAccessMask: ACCESS_TRANSFER_WRITE, dstAccessMask: ACCESS_HOST_READ })],
      0,
      null,
      back.length,
      back.length > 0 ? back : null,
    );
  }

  /** Resolves the downloads of the frames up to `completedSerial` (their fences have signaled). */
  settle(completedSerial: number): void {
    if (this.#pending.length === 0) return;
    this.#settle((d) => d.serial > 0 && d.serial <= completedSerial);
  }

  /** Resolves the downloads of the download-only submission (its fence has signaled). */
  settleFlushed(): void {
    this.#settle((d) => d.serial === FLUSHED);
  }

  #settle(due: (d: Download) => boolean): void {
    const keep: Download[] = [];
    for (const d of this.#pending) {
      if (!due(d)) {
        keep.push(d);
        continue;
      }
      try {
        if ((d.allocation.memoryProperties & MEMORY_PROPERTY_HOST_COHERENT) === 0) d.allocation.invalidate(0, d.size);
        const data = new Uint8Array(d.allocation.mappedData!, 0, d.size).slice();
        this.#allocator.destroyBuffer(d.buffer, d.allocation);
        d.resolve(data);
      } catch (error) {
        d.reject(error);
      }
    }
    this.#pending.length = 0;
    this.#pending.push(...keep);
  }

  /** Downloads not recorded in any submission yet. */
  get unrecorded(): number {
    let n = 0;
    for (const d of this.#pending) if (d.serial === 0) n++;
    return n;
  }

  /** Downloads recorded in a submission whose fence is not known signaled yet. */
  get submitted(): number {
    return this.#pending.length - this.unrecorded;
  }

  /** Rejects every download not recorded yet with `error` (and frees its readback buffer). */
  rejectUnrecorded(error: unknown): void {
    const keep: Download[] = [];
    for (const d of this.#pending) {
      if (d.serial !== 0) {
        keep.push(d);
        continue;
      }
      try {
        this.#allocator.destroyBuffer(d.buffer, d.allocation);
      } finally {
        d.reject(error);
      }
    }
    this.#pending.length = 0;
    this.#pending.push(...keep);
  }

  /**
   * Rejects every submitted download with `error` (a fence or submission failed: it may never be seen complete). Its
   * readback buffer is kept until destroy(), which frees it after waiting for the GPU.
   */
  abandonSubmitted(error: unknown): void {
    const keep: Download[] = [];
    for (const d of this.#pending) {
      if (d.serial === 0) keep.push(d);
      else {
        this.#abandoned.push(d);
        d.reject(error);
      }
    }
    this.#pending.length = 0;
    this.#pending.push(...keep);
  }

  /**
   * Frees the readback buffers (when `free`: the device and the allocator are alive, and the GPU is idle) and
   * rejects every download still pending with DestroyedResourceError naming `cause`.
   */
  destroy(free: boolean, cause: string): void {
    for (const d of this.#abandoned) if (free) this.#allocator.destroyBuffer(d.buffer, d.allocation);
    this.#abandoned.length = 0;
    for (const d of this.#pending) {
      if (free) this.#allocator.destroyBuffer(d.buffer, d.allocation);
      d.reject(new DestroyedResourceError("Download", d.source.label, "download, never submitted", cause));
    }
    this.#pending.length = 0;
  }
}
