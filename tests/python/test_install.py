"""`meson install` into a temporary folder (--destdir), then the installed
pieces used as a user outside the source tree would: the tool, pkg-config,
a C program built against the installed headers and library, and
`import anoma` with no environment variable but the install's site folder.

Skipped when not run by meson (ANOMA_BUILD_DIR unset) or when meson is not
on PATH.
"""
import glob
import os
import re
import shutil
import subprocess

import pytest

BUILD = os.environ.get("ANOMA_BUILD_DIR")
PREFIX = os.environ.get("ANOMA_PREFIX", "/usr/local")
LIBDIR = os.environ.get("ANOMA_LIBDIR", "lib")
VERSION = os.environ.get("ANOMA_PROJECT_VERSION")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

if not BUILD or not shutil.which("meson"):
    pytest.skip("needs meson and ANOMA_BUILD_DIR (run through meson test)", allow_module_level=True)

# the pkg-config names of the libraries libanoma may link, by soname prefix
PKG_OF_SONAME = {"libz.so": "zlib", "libopenblas.so": "openblas", "liblapacke.so": "lapacke",
                 "libjson-c.so": "json-c",
                 "libcblas.so": "openblas", "libblas.so": "openblas"}


@pytest.fixture(scope="module")
def dest(tmp_path_factory):
    root = tmp_path_factory.mktemp("install")
    p = subprocess.run(["meson", "install", "-C", BUILD, "--destdir", str(root), "--no-rebuild",
                        "--quiet"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return root


def installed(dest, *parts):
    return os.path.join(str(dest) + PREFIX, *parts)


def clean_env(**extra):
    """No ANOMA_LIBRARY, PYTHONPATH or LD_LIBRARY_PATH: only what is given."""
    env = {"PATH": "/usr/bin:/bin"}
    env.update(extra)
    return env


def test_installed_tool_runs(dest):
    tool = installed(dest, "bin", "anoma")
    p = subprocess.run([tool, "--version"], capture_output=True, text=True, env=clean_env())
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("anoma %s (libanoma %s)" % (VERSION, VERSION)), p.stdout
    # the library it loads is the installed one (RUNPATH $ORIGIN/..), not the build's
    ldd = subprocess.run(["ldd", tool], capture_output=True, text=True, env=clean_env()).stdout
    line = [l for l in ldd.splitlines() if "libanoma.so" in l][0]
    assert str(dest) in line, ldd
    p = subprocess.run([tool, "evaluate", "--label", "label", "-d", "zscore",
                        os.path.join(ROOT, "examples", "data", "wbc.csv")],
                       capture_output=True, text=True, env=clean_env())
    assert p.returncode == 0 and "zscore" in p.stdout, p.stderr


def pkg_config(dest, *args):
    env = clean_env(PKG_CONFIG_SYSROOT_DIR=str(dest),
                    PKG_CONFIG_PATH=installed(dest, LIBDIR, "pkgconfig"))
    p = subprocess.run(["pkg-config", *args, "libanoma"], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


def test_pkg_config_requires_what_the_library_links(dest):
    assert pkg_config(dest, "--modversion") == [VERSION]
    libs = pkg_config(dest, "--libs")
    assert "-lanoma" in libs and "-L" + installed(dest, LIBDIR) in libs
    assert not any(word in " ".join(libs) for word in ("openblas", "lapacke")), libs
    library = os.path.realpath(installed(dest, LIBDIR, "libanoma.so"))
    dynamic = subprocess.run(["readelf", "-d", library], capture_output=True, text=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dynamic)
    linked = {pkg for soname in needed for prefix, pkg in PKG_OF_SONAME.items()
              if soname.startswith(prefix)}
    assert set(pkg_config(dest, "--print-requires-private")) == linked, needed


def test_c_program_builds_against_the_install(dest, tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler")
    exe = tmp_path / "basic"
    flags = pkg_config(dest, "--cflags", "--libs")
    p = subprocess.run([cc, os.path.join(ROOT, "examples", "basic.c"), "-o", str(exe), *flags,
                        "-Wl,-rpath," + installed(dest, LIBDIR)],
                       capture_output=True, text=True, env=clean_env())
    assert p.returncode == 0, p.stderr
    p = subprocess.run([str(exe), str(tmp_path / "basic.anoma")], capture_output=True, text=True,
                       env=clean_env())
    assert p.returncode == 0, p.stdout + p.stderr


def test_python_package_imports_from_the_install(dest):
    found = glob.glob(str(dest) + "/**/anoma/_install.py", recursive=True)
    assert len(found) == 1, found
    site = os.path.dirname(os.path.dirname(found[0]))
    code = ("import anoma, anoma._library as L, numpy as np\n"
            "m = anoma.ZScore().fit(np.arange(20.0).reshape(10, 2))\n"
            "print(anoma.__file__); print(L.path); print(anoma.__version__)")
    p = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True,
                       env=clean_env(PYTHONPATH=site), cwd="/")
    assert p.returncode == 0, p.stderr
    module, library, version = p.stdout.split()
    assert module.startswith(str(dest)) and library.startswith(str(dest)), p.stdout
    assert version == VERSION


def test_python_package_version_is_the_project_version(dest):
    """meson writes its project version into the installed package, which
    then accepts only a library of that version."""
    found = glob.glob(str(dest) + "/**/anoma/_install.py", recursive=True)
    code = "import anoma._version as v; print(v.VERSION)"
    p = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True,
                       env=clean_env(PYTHONPATH=os.path.dirname(os.path.dirname(found[0]))),
                       cwd="/")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == VERSION


def test_python_package_installs_every_module(dest):
    """The package folder is installed as it is at install time: every
    module of the source tree, plus the _install module meson writes."""
    found = glob.glob(str(dest) + "/**/anoma/_install.py", recursive=True)
    installed_modules = {os.path.basename(f) for f in
                         glob.glob(os.path.join(os.path.dirname(found[0]), "*.py"))}
    source = {os.path.basename(f) for f in
              glob.glob(os.path.join(ROOT, "bindings", "python", "anoma", "*.py"))}
    assert installed_modules == source | {"_install.py"}


def test_docs_are_installed(dest):
    docs = installed(dest, "share", "doc", "libanoma")
    for name in ("README.md", "cli.md", "model-format.md", "CHANGELOG.md"):
        assert os.path.exists(os.path.join(docs, name)), name
