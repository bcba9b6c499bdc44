/**
 * A window's surface and swapchain, as a {@link ColorTarget}, with the semaphores presentation needs.
 *
 * Choices (those of VMA's sample): B8G8R8A8_UNORM with SRGB_NONLINEAR when offered, else the first format;
 * MAILBOX when offered, else FIFO (always there); minImageCount + 1 images (capped by maxImageCount); the surface's
 * current extent, or the window's framebuffer size clamped to the allowed range when the surface leaves it open.
 *
 * Synchronization, and why it is correct:
 * - One "image acquired" semaphore per frame slot. `acquire(slot)` signals the slot's semaphore; the frame waits on
 *   it at COLOR_ATTACHMENT_OUTPUT. The slot is reused only after the FrameManager waited for its fence, so the
 *   submission that waited on the semaphore has finished and the semaphore is unsignaled again.
 * - One "render finished" semaphore per swapchain image, not per frame: presentation waits on it, and nothing
 *   tells when presentation is done with it except that the same image is acquired again. An image is acquired
 *   again only after its previous presentation released it, so the next signal of that image's semaphore cannot
 *   overtake the previous wait.
 * - Recreation (`recreate()`) and `destroy()` first wait for the device to be idle (Context.waitIdle), not only for
 *   the frames' fences: a presentation's wait on a render-finished semaphore has no fence, and an idle queue is
 *   the only proof that it is over (without VK_EXT_swapchain_maintenance1). Destroying the semaphore after the
 *   fences alone was reported by the validation layer, at times (VUID-vkDestroySemaphore-semaphore-01137, once in
 *   about 1,400 recreations here). Recreation then destroys the views and semaphores of the old images and passes
 *   the old swapchain as `oldSwapchain`, then destroys it.
 * - nvk's extension functions (the *KHR ones) go through pointers global to the process: every call below is
 *   preceded by `context.makeCurrent()`.
 * @module
 */
import { check, describeValue, DestroyedResourceError, nvk, type Context, type NvkHandle } from "../../engine/index.js";
import { createImageView, type ColorTarget } from "./color-target.js";
import { createNamed } from "./named-object.js";

/** What nvk's VulkanWindow offers that the swapchain uses. */
export interface SurfaceWindow {
  readonly frameBufferWidth: number;
  readonly frameBufferHeight: number;
  createSurface(instance: NvkHandle, allocator: null, surface: NvkHandle): number;
}

/** Options of {@link Swapchain}. */
export interface SwapchainOptions {
  /** Frame slots of the FrameManager (one acquire semaphore each). */
  framesInFlight: number;
  /** Prefer MAILBOX (default true); false: FIFO. */
  preferMailbox?: boolean;
  /** Prefix of object names. Default "swapchain". */
  label?: string;
}

const VK_SUBOPTIMAL_KHR = 1000001003;
const VK_ERROR_OUT_OF_DATE_KHR = -1000001004;
const NO_TIMEOUT = (1n << 64n) - 1n;
const PRESENT_MODE_NAMES: Record<number, string> = { 0: "IMMEDIATE", 1: "MAILBOX", 2: "FIFO", 3: "FIFO_RELAXED" };

/** An acquired swapchain image: render into `views[imageIndex]`, wait on `acquired`, signal `renderFinished`. */
export interface AcquiredImage {
  readonly imageIndex: number;
  readonly acquired: NvkHandle;
  readonly renderFinished: NvkHandle;
}

/**
 * A window surface with its swapchain. Made after the Context (which must have been created with
 * `headless: false` and the window's instance extensions); destroyed with `destroy()` (which waits for the queue)
 * before the Context.
 */
export class Swapchain implements ColorTarget {
  readonly label: string;
  readonly finalLayout = nvk.VK_IMAGE_LAYOUT_PRESENT_SRC_KHR as number;
  readonly consumerStageMask = nvk.VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT as number;
  readonly consumerAccessMask = 0;
  /** The chosen VkPresentModeKHR. */
  readonly presentMode: number;
  /** VkSurfaceFormatKHR's format and colour space. */
  readonly format: number;
  readonly colorSpace: number;
  readonly #context: Context;
  readonly #window: SurfaceWindow;
  #surface: NvkHandle | null;
  #swapchain: NvkHandle | null = null;
  #images: NvkHandle[] = [];
  #views: NvkHandle[] = [];
  #renderFinished: NvkHandle[] = [];
  readonly #acquired: NvkHandle[] = [];
  #width = 0;
  #height = 0;
  #generation = 0;
  readonly #imageIndex = { $: 0 };
  readonly #presentInfo: any;
  readonly #presentSwapchains: NvkHandle[] = [];
  readonly #presentIndices = new Uint32Array(1);
  readonly #presentWaits: NvkHandle[] = [];

  /**
   * Creates the surface of `window`, checks that the context's queue can present to it, picks format and present
   * mode, and creates the swapchain at the window's framebuffer size.
   * @throws Error when the context's queue family cannot present to the surface.
   * @throws VkError when a Vulkan call fails.
   */
  constructor(context: Context, window: SurfaceWindow, options: SwapchainOptions) {
    if (!Number.isInteger(options.framesInFlight) || options.framesInFlight < 1) {
      throw new RangeError(
        `Swapchain: framesInFlight must be a positive integer, got ${describeValue(options.framesInFlight)}`,
      );
    }
    this.label = options.label ?? "swapchain";
    this.#context = context;
    this.#window = window;
    context.makeCurrent();
    const surface = new nvk.VkSurfaceKHR();
    check(window.createSurface(context.instance, null, surface), "createSurface", this.label);
    this.#surface = surface;
    try {
      const supported = { $: false };
      check(
        nvk.vkGetPhysicalDeviceSurfaceSupportKHR(context.physicalDevice, context.queueFamilyIndex, surface, supported),
        "vkGetPhysicalDeviceSurfaceSupportKHR",
      );
      if (!supported.$)
        throw new Error(`Swapchain: queue family ${context.queueFamilyIndex} cannot present to this window's surface`);
      const formats = this.#surfaceFormats();
      const preferred = formats.find(
        (f) => f.format === nvk.VK_FORMAT_B8G8R8A8_UNORM && f.colorSpace === nvk.VK_COLOR_SPACE_SRGB_NONLINEAR_KHR,
      );
      const chosen =
        formats.length === 1 && formats[0]!.format === nvk.VK_FORMAT_UNDEFINED
          ? {
              format: nvk.VK_FORMAT_B8G8R8A8_UNORM as number,
              colorSpace: nvk.VK_COLOR_SPACE_SRGB_NONLINEAR_KHR as number,
            }
          : (preferred ?? formats[0]!);
      this.format = chosen.format;
      this.colorSpace = chosen.colorSpace;
      const modes = this.#presentModes();
      this.presentMode =
        options.preferMailbox !== false && modes.includes(nvk.VK_PRESENT_MODE_MAILBOX_KHR)
          ? nvk.VK_PRESENT_MODE_MAILBOX_KHR
          : nvk.VK_PRESENT_MODE_FIFO_KHR;
      for (let i = 0; i < options.framesInFlight; i++)
        this.#acquired.push(this.#semaphore(`${this.label} image acquired (slot ${i})`));
      this.#presentInfo = new nvk.VkPresentInfoKHR({});
      this.#create();
    } catch (error) {
      this.destroy();
      throw error;
    }
  }

  /** The VkSwapchainKHR. @throws DestroyedResourceError after destroy(). */
  get handle(): NvkHandle {
    return this.#live("handle");
  }
  get width(): number {
    return this.#width;
  }
  get height(): number {
    return this.#height;
  }
  get generation(): number {
    return this.#generation;
  }
  get views(): readonly NvkHandle[] {
    return this.#views;
  }
  /** The number of swapchain images. */
  get imageCount(): number {
    return this.#images.length;
  }
  /** "MAILBOX" or "FIFO". */
  get presentModeName(): string {
    return PRESENT_MODE_NAMES[this.presentMode] ?? String(this.presentMode);
  }

  /**
   * Acquires the next image, signaling the acquire semaphore of frame slot `slot`. Returns null when the swapchain
   * is out of date (recreate it; nothing was signaled). SUBOPTIMAL counts as success: render, present, then the
   * present result asks for recreation.
   * @throws VkError for any other failure.
   */
  acquire(slot: number): AcquiredImage | null {
    const swapchain = this.#live("acquire");
    const acquired = this.#acquired[slot];
    if (acquired === undefined)
      throw new RangeError(
        `Swapchain.acquire: slot must be 0 to ${this.#acquired.length - 1}, got ${describeValue(slot)}`,
      );
    this.#context.makeCurrent();
    const result = nvk.vkAcquireNextImageKHR(
      this.#context.device,
      swapchain,
      NO_TIMEOUT,
      acquired,
      null,
      this.#imageIndex,
    );
    if (result === VK_ERROR_OUT_OF_DATE_KHR) return null;
    if (result !== VK_SUBOPTIMAL_KHR) check(result, "vkAcquireNextImageKHR", this.label);
    const imageIndex = this.#imageIndex.$;
    return { imageIndex, acquired, renderFinished: this.#renderFinished[imageIndex]! };
  }

  /**
   * Presents `image` on the context's queue, waiting on its render-finished semaphore. Returns false when the
   * swapchain should be recreated (OUT_OF_DATE or SUBOPTIMAL), true otherwise.
   * @throws VkError for any other failure.
   */
  present(image: AcquiredImage): boolean {
    const swapchain = this.#live("present");
    this.#presentSwapchains[0] = swapchain;
    this.#presentWaits[0] = image.renderFinished;
    this.#presentIndices[0] = image.imageIndex;
    const info = this.#presentInfo;
    info.waitSemaphoreCount = 1;
    info.pWaitSemaphores = this.#presentWaits;
    info.swapchainCount = 1;
    info.pSwapchains = this.#presentSwapchains;
    info.pImageIndices = this.#presentIndices;
    this.#context.makeCurrent();
    const result = nvk.vkQueuePresentKHR(this.#context.queue, info);
    if (result === VK_ERROR_OUT_OF_DATE_KHR || result === VK_SUBOPTIMAL_KHR) return false;
    check(result, "vkQueuePresentKHR", this.label);
    return true;
  }

  /**
   * Replaces the swapchain with one at the window's current framebuffer size. Returns false (and changes
   * nothing) when that size is 0 (minimized): try again later.
   *
   * Waits for the device to be idle first (presentations included). The caller retires its frames as it needs to
   * (FrameManager.waitIdle()).
   * @throws VkError when a Vulkan call fails.
   */
  recreate(): boolean {
    this.#live("recreate");
    if (this.#window.frameBufferWidth === 0 || this.#window.frameBufferHeight === 0) return false;
    this.#context.waitIdle();
    this.#create();
    return true;
  }

  /**
   * Waits for the device to be idle (presentations included), then destroys views, semaphores, the swapchain and the
   * surface. Second call: no-op.
   */
  destroy(): void {
    const surface = this.#surface;
    if (surface === null) return;
    const device = this.#context.device;
    this.#context.makeCurrent();
    nvk.vkDeviceWaitIdle(device); // unchecked, as Context.destroy(): a lost device still lets everything be destroyed
    this.#destroyImages();
    for (const s of this.#acquired) nvk.vkDestroySemaphore(device, s, null);
    this.#acquired.length = 0;
    if (this.#swapchain !== null) nvk.vkDestroySwapchainKHR(device, this.#swapchain, null);
    this.#swapchain = null;
    nvk.vkDestroySurfaceKHR(this.#context.instance, surface, null);
    this.#surface = null;
  }

  #create(): void {
    const context = this.#context;
    const surface = this.#surface!;
    context.makeCurrent();
    const caps = new nvk.VkSurfaceCapabilitiesKHR();
    check(
      nvk.vkGetPhysicalDeviceSurfaceCapabilitiesKHR(context.physicalDevice, surface, caps),
      "vkGetPhysicalDeviceSurfaceCapabilitiesKHR",
    );
    let width = caps.currentExtent.width as number;
    let height = caps.currentExtent.height as number;
    if (width === 0xffffffff) {
      width = Math.max(caps.minImageExtent.width, Math.min(caps.maxImageExtent.width, this.#window.frameBufferWidth));
      height = Math.max(
        caps.minImageExtent.height,
        Math.min(caps.maxImageExtent.height, this.#window.frameBufferHeight),
      );
    }
    let imageCount = (caps.minImageCount as number) + 1;
    if (caps.maxImageCount > 0 && imageCount > caps.maxImageCount) imageCount = caps.maxImageCount;
    const old = this.#swapchain;
    const swapchain = new nvk.VkSwapchainKHR();
    const info = new nvk.VkSwapchainCreateInfoKHR({
      surface,
      minImageCount: imageCount,
      imageFormat: this.format,
      imageColorSpace: this.colorSpace,
      imageExtent: new nvk.VkExtent2D({ width, height }),
      imageArrayLayers: 1,
      imageUsage: nvk.VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT,
      imageSharingMode: nvk.VK_SHARING_MODE_EXCLUSIVE,
      preTransform: caps.currentTransform,
      compositeAlpha: nvk.VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR,
      presentMode: this.presentMode,
      clipped: true,
      oldSwapchain: old,
    });
    check(nvk.vkCreateSwapchainKHR(context.device, info, null, swapchain), "vkCreateSwapchainKHR", this.label);
    this.#destroyImages();
    if (old !== null) nvk.vkDestroySwapchainKHR(context.device, old, null);
    this.#swapchain = swapchain;
    context.setObjectName(nvk.VK_OBJECT_TYPE_SWAPCHAIN_KHR, swapchain, this.label);
    const count = { $: 0 };
    check(nvk.vkGetSwapchainImagesKHR(context.device, swapchain, count, null), "vkGetSwapchainImagesKHR");
    const images = Array.from({ length: count.$ }, () => new nvk.VkImage());
    check(nvk.vkGetSwapchainImagesKHR(context.device, swapchain, count, images), "vkGetSwapchainImagesKHR");
    this.#images = images;
    this.#views = images.map((image, i) => {
      context.setObjectName(nvk.VK_OBJECT_TYPE_IMAGE, image, `${this.label} image ${i}`);
      return createImageView(context, image, this.format, nvk.VK_IMAGE_ASPECT_COLOR_BIT, `${this.label} view ${i}`);
    });
    this.#renderFinished = images.map((_, i) => this.#semaphore(`${this.label} render finished (image ${i})`));
    this.#width = width;
    this.#height = height;
    this.#generation++;
  }

  #destroyImages(): void {
    const device = this.#context.device;
    for (const v of this.#views) nvk.vkDestroyImageView(device, v, null);
    for (const s of this.#renderFinished) nvk.vkDestroySemaphore(device, s, null);
    this.#views = [];
    this.#renderFinished = [];
    this.#images = [];
  }

  #semaphore(name: string): NvkHandle {
    const device = this.#context.device;
    return createNamed(this.#context, nvk.VkSemaphore, nvk.VK_OBJECT_TYPE_SEMAPHORE, name, "vkCreateSemaphore", (out) =>
      nvk.vkCreateSemaphore(device, new nvk.VkSemaphoreCreateInfo(), null, out),
    );
  }

  #surfaceFormats(): { format: number; colorSpace: number }[] {
    const c = this.#context;
    const count = { $: 0 };
    check(
      nvk.vkGetPhysicalDeviceSurfaceFormatsKHR(c.physicalDevice, this.#surface, count, null),
      "vkGetPhysicalDeviceSurfaceFormatsKHR",
    );
    const formats = Array.from({ length: count.$ }, () => new nvk.VkSurfaceFormatKHR());
    check(
      nvk.vkGetPhysicalDeviceSurfaceFormatsKHR(c.physicalDevice, this.#surface, count, formats),
      "vkGetPhysicalDeviceSurfaceFormatsKHR",
    );
    return formats.map((f) => ({ format: f.format as number, colorSpace: f.colorSpace as number }));
  }

  #presentModes(): number[] {
    const c = this.#context;
    const count = { $: 0 };
    check(
      nvk.vkGetPhysicalDeviceSurfacePresentModesKHR(c.physicalDevice, this.#surface, count, null),
      "vkGetPhysicalDeviceSurfacePresentModesKHR",
    );
    const modes = new Int32Array(count.$);
    check(
      nvk.vkGetPhysicalDeviceSurfacePresentModesKHR(c.physicalDevice, this.#surface, count, modes),
      "vkGetPhysicalDeviceSurfacePresentModesKHR",
    );
    return [...modes];
  }

  #live(operation: string): NvkHandle {
    if (this.#swapchain === null || this.#surface === null)
      throw new DestroyedResourceError("Swapchain", this.label, operation);
    return this.#swapchain;
  }
}
