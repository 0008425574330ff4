"""Child processes that end with their parent, however the parent ends (kill -9 too)."""

import contextlib
import ctypes
import ctypes.util
import os
import signal

PR_SET_PDEATHSIG = 1  # prctl(2): a signal for the child when its parent ends


def die_with_parent(sent: int = signal.SIGKILL) -> None:
    """Ask Linux to send this process `sent` when its parent ends (call it in the child). Elsewhere the
    parent's own shutdown has to do."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sent)
        if os.getppid() == 1:  # the parent was gone before the signal was asked for
            os._exit(1)
