"""Keep native libraries' start-up notices out of notebook output.

TensorFlow's native start-up notices (oneDNN, CPU features, absl) are written to file descriptor 2
while it is imported and ignore TF_CPP_MIN_LOG_LEVEL; in a notebook they would land in the cell's
output. :mod:`helpers.svi` and :mod:`helpers.vae` import Keras inside :func:`native_stderr_silenced`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["native_stderr_silenced"]


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send what C/C++ code writes to file descriptor 2 to /dev/null for the duration.

    Python exceptions are unaffected: they propagate after the descriptor is restored.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
