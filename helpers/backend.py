"""Keras's start-up, in one place: the course's backend default and a quiet import.

The course runs Keras 3 on TensorFlow unless ``KERAS_BACKEND`` says otherwise (on a 2-core CPU the
same VAE trained 2.6x faster on TensorFlow than on JAX). TensorFlow writes native start-up notices to
file descriptor 2 while it is imported, which TF_CPP_MIN_LOG_LEVEL does not hide; in a notebook they
would land in a cell's output, so Keras is imported inside :func:`~helpers.quiet.native_stderr_silenced`.

Every module that needs Keras imports it from here: ``from helpers.backend import keras`` (and TensorFlow itself,
``tf``, where the course uses it directly: the gradients of notebook 03).
"""

from __future__ import annotations

import os

from helpers.quiet import native_stderr_silenced

__all__ = ["keras", "tf"]

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
with native_stderr_silenced():
    import keras
    import tensorflow as tf
