from helpers import config


def test_fast_mode_switch(monkeypatch):
    monkeypatch.delenv(config.FAST_ENV, raising=False)
    assert not config.fast_mode() and config.sizes() is config.FULL
    assert "FULL" in config.describe_mode()
    for value in ("1", "true", "YES"):
        monkeypatch.setenv(config.FAST_ENV, value)
        assert config.fast_mode() and config.sizes() is config.FAST
    monkeypatch.setenv(config.FAST_ENV, "0")
    assert not config.fast_mode()


def test_fast_sizes_are_never_larger():
    for name, full in vars(config.FULL).items():
        fast = getattr(config.FAST, name)
        if full is None:  # None means "everything"
            continue
        assert fast is not None and fast <= full, name


def test_topic_modules_load_without_tensorflow():
    """Only svi, vae, vae_evaluation and train may pull in TensorFlow; the others stay light for notebooks 01-02."""
    import subprocess
    import sys

    code = ("import sys; import helpers.config, helpers.data, helpers.distributions, helpers.exercises, helpers.gmm, "
            "helpers.grading, helpers.latent, helpers.meanfield, helpers.notebooks, helpers.plots, helpers.quiet, "
            "helpers.widgets; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
