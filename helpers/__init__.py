"""Helpers for the *From EM to VAE* course.

Each topic lives in its own module (``config``, ``data``, ``distributions``, ``gmm``,
``meanfield``, ``svi``, ``vae``, ``vae_evaluation``, ``train``, ``beyond``, ``latent``, ``exercises``
with its ``grading`` machinery, ``plots``, ``widgets``), with two small utilities: ``notebooks``
(the list of course notebooks) and ``quiet`` (silencing native start-up notices). Only ``svi``, ``vae``,
``vae_evaluation``, ``train`` and ``beyond`` import Keras/TensorFlow, so the first two notebooks start quickly.
"""

__version__ = "0.1.0"
