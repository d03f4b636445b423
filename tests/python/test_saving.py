"""Model.save goes through the library's saving rule (docs/model-format.md,
"Saving"): the Python side writes no file itself, so a FIFO is refused, a
symbolic link is followed and a private file stays private, as in C."""
import os
import stat

import numpy as np
import pytest

from conftest import import_anoma

anoma = import_anoma()


@pytest.fixture
def model():
    rng = np.random.default_rng(3)
    m = anoma.Model("contamination=0.1", detectors=[("zscore", "")])
    m.fit(rng.normal(size=(50, 3)))
    return m


def test_save_refuses_a_fifo(tmp_path, model):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(anoma.AnomaError, match="is a FIFO; refusing to replace it"):
        model.save(fifo)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert os.listdir(tmp_path) == ["fifo"]


def test_save_follows_a_symlink_and_keeps_the_mode(tmp_path, model):
    real = tmp_path / "real.anoma"
    real.write_bytes(b"old")
    real.chmod(0o600)
    link = tmp_path / "current.anoma"
    link.symlink_to(real.name)
    model.save(link)
    assert link.is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert real.read_bytes() == model.to_bytes()
