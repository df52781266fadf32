"""Process-wide settings for serving many small requests on a small CPU machine."""

from __future__ import annotations

import ctypes
import ctypes.util

import torch

_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter


def configure_process(threads: int = 1) -> None:
    """One torch thread per process, and a fixed glibc mmap threshold.

    Many sessions on few cores are served best by one thread each, and a fixed threshold
    stops large temporaries from fragmenting the heap. See docs/ARCHITECTURE.md,
    "Runtime settings".
    """
    torch.set_num_threads(threads)
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    try:
        ctypes.CDLL(libc_name).mallopt(_M_MMAP_THRESHOLD, 1 << 20)
    except (OSError, AttributeError):  # not glibc (e.g. macOS, musl): nothing to fix
        pass
