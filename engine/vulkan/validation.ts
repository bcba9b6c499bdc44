/**
 * Validation: the messages the validation layer (and the loader) report, collected by a debug-utils messenger.
 *
 * Messages are collected synchronously: the layer calls the messenger from inside the Vulkan call that caused them,
 * so a message is in the Context's `validationMessages` when that call returns. Only warnings and errors are
 * collected unless `validationVerbose` is set. The messenger's create info is also chained into vkCreateInstance,
 * so that vkCreateInstance and vkDestroyInstance are watched too. The callback never throws through native code:
 * a throwing listener's error is rethrown on the next tick.
 * @module
 */
import { nvk } from "./nvk.js";
import {
  MESSAGE_TYPE_GENERAL,
  MESSAGE_TYPE_PERFORMANCE,
  MESSAGE_TYPE_VALIDATION,
  SEVERITY_ERROR,
  SEVERITY_INFO,
  SEVERITY_VERBOSE,
  SEVERITY_WARNING,
} from "./vk.js";

/** The severity of a validation message, from the debug-utils severity bit. */
export type ValidationSeverity = "error" | "warning" | "info" | "verbose";

/** One message of the validation layer (or the loader), as collected by a {@link Context}. */
export interface ValidationMessage {
  readonly severity: ValidationSeverity;
  /** The debug-utils message type: "validation", "performance" or "general". */
  readonly type: "general" | "validation" | "performance";
  /** The message id name, e.g. "VUID-VkBufferCreateInfo-size-00912" or "SYNC-HAZARD-WRITE-AFTER-WRITE"; "" if none. */
  readonly id: string;
  /** The full text. */
  readonly message: string;
}

/** The Khronos validation layer's name. @internal */
export const VALIDATION_LAYER = "VK_LAYER_KHRONOS_validation";

function severityOf(bits: number): ValidationSeverity {
  if (bits & SEVERITY_ERROR) return "error";
  if (bits & SEVERITY_WARNING) return "warning";
  if (bits & SEVERITY_INFO) return "info";
  return "verbose";
}

function typeOf(bits: number): ValidationMessage["type"] {
  if (bits & MESSAGE_TYPE_VALIDATION) return "validation";
  if (bits & MESSAGE_TYPE_PERFORMANCE) return "performance";
  return "general";
}

/**
 * The create info of a messenger that appends each message to `messages` (warnings and errors; info and verbose too
 * when `verbose`) and hands it to `listener`. @internal
 */
export function makeMessengerInfo(
  messages: ValidationMessage[],
  verbose: boolean,
  listener: ((message: ValidationMessage) => void) | undefined,
): any {
  const severities = SEVERITY_WARNING | SEVERITY_ERROR | (verbose ? SEVERITY_INFO | SEVERITY_VERBOSE : 0);
  return new nvk.VkDebugUtilsMessengerCreateInfoEXT({
    messageSeverity: severities,
    messageType: MESSAGE_TYPE_GENERAL | MESSAGE_TYPE_VALIDATION | MESSAGE_TYPE_PERFORMANCE,
    // Called synchronously from inside the Vulkan call that caused the message: it must never throw through
    // native code, so a throwing listener's error is rethrown on the next tick instead.
    pfnUserCallback: (severity: number, type: number, data: any): boolean => {
      try {
        const message: ValidationMessage = Object.freeze({
          severity: severityOf(severity),
          type: typeOf(type),
          id: (data?.pMessageIdName as string | null) ?? "",
          message: (data?.pMessage as string | null) ?? "",
        });
        messages.push(message);
        listener?.(message);
      } catch (error) {
        process.nextTick(() => {
          throw error;
        });
      }
      return false;
    },
  });
}
