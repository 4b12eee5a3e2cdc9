"""helpers.quiet: native writes to file descriptor 2 vanish inside the block, and only there."""

from __future__ import annotations

import os

import pytest

from helpers.quiet import native_stderr_silenced


def test_native_writes_to_stderr_are_dropped_and_the_descriptor_restored(capfd):
    os.write(2, b"before\n")
    with native_stderr_silenced():
        os.write(2, b"oneDNN custom operations are on\n")      # what TensorFlow's C++ start-up writes
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "before\nafter\n"


def test_an_exception_inside_propagates_and_stderr_works_again(capfd):
    with pytest.raises(ImportError, match="no such module"), native_stderr_silenced():
        raise ImportError("no such module")
    os.write(2, b"still here\n")
    assert capfd.readouterr().err == "still here\n"
