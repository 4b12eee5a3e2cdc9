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
