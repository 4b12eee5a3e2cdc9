"""Helpers for the *From EM to VAE* course.

Each topic lives in its own module (``config``, ``data``, ``gmm``, ``meanfield``,
``svi``, ``vae``, ``plots``, ``widgets``). Only ``vae`` and ``train`` import
Keras/TensorFlow, so the early notebooks start quickly.
"""

__version__ = "0.1.0"
