"""Process-wide settings for serving many small requests on a small CPU machine."""

from __future__ import annotations

import ctypes
import ctypes.util

import torch

_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter


def configure_process(threads: int = 1) -> None:
    """One torch thread per process, and a fixed glibc mmap threshold.

    One thread: on 2 cores, many sessions are served better by one thread each than by
    two threads fighting (DESIGN.md). The mmap threshold: glibc raises it after a large
    block is freed, after which the ideal denoiser's 16 MB temporaries come from the heap
    and fragment it; we measured a process growing to 2.5 GB over one 100-step sampling
    run. Fixing the threshold (which turns off that adjustment) keeps it at ~200 MB.
    """
    torch.set_num_threads(threads)
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    try:
        ctypes.CDLL(libc_name).mallopt(_M_MMAP_THRESHOLD, 1 << 20)
    except (OSError, AttributeError):  # not glibc (e.g. macOS, musl): nothing to fix
        pass
