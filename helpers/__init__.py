"""Helpers for the *From EM to VAE* course.

Each topic lives in its own module (``config``, ``data``, ``gmm``, ``meanfield``,
``svi``, ``vae``, ``train``, ``plots``, ``widgets``). Only ``svi``, ``vae`` and ``train``
import Keras/TensorFlow, so the first two notebooks start quickly.
"""

__version__ = "0.1.0"
