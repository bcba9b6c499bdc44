// The one translation unit that compiles VMA's implementation, with the configuration of vma_config.h.
#define VMA_IMPLEMENTATION
#include "vma_config.h"
