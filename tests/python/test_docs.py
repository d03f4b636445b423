"""The Python examples of README.md and docs/python.md run as written, from a
folder where the repository's examples/ is visible, so that what they write
lands in a temporary folder."""
import os
import re
import subprocess
import sys

import pytest

from conftest import BINDINGS, ROOT, import_anoma

anoma = import_anoma()


def python_blocks(relative):
    with open(os.path.join(ROOT, relative)) as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


@pytest.mark.parametrize("relative", ["README.md", "docs/python.md"])
def test_python_examples_run(relative, tmp_path):
    pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    blocks = python_blocks(relative)
    assert blocks, relative
    os.symlink(os.path.join(ROOT, "examples"), tmp_path / "examples")
    env = dict(os.environ, PYTHONPATH=BINDINGS, ANOMA_LIBRARY=anoma._library.path)
    for code in blocks:
        r = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
