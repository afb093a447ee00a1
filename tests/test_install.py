"""A fresh install is the install: the wheel carries every data file the package reads, and the
package never looks for the checkout it was built from (README's ``pip install '.[test,web]'``
is not editable, so ``Path(__file__).parents[3] / "data"`` would point into site-packages).
"""

from __future__ import annotations

import fnmatch
import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "specroof"
# Climbing out of the package's own folder, or naming the checkout's data/ folder.
CHECKOUT_READ = re.compile(r"parents\[\d+\]|parent\.parent|\.\./|/ *\"data\" */|\"data/(kernels|measurements|profiles|validation)")


def package_data_globs() -> list[str]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return pyproject["tool"]["setuptools"]["package-data"]["specroof"]


def test_every_data_file_of_the_package_ships_in_the_wheel():
    globs = package_data_globs()
    missing = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*")
               if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
               and not any(fnmatch.fnmatch(p.relative_to(PACKAGE).as_posix(), g) for g in globs)]
    assert not missing, f"files under src/specroof not in [tool.setuptools.package-data]: {missing}"


def test_package_never_reads_the_checkout():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if CHECKOUT_READ.search(code) and "resources.files(" not in code:  # a package's own data is fine
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "the installed package must not read the checkout:\n" + "\n".join(offenders)


def test_the_guard_sees_the_old_pattern():
    """The pattern above catches the line this test was written against."""
    assert CHECKOUT_READ.search('_REPO = Path(__file__).resolve().parents[3] / "data" / "kernels"')
    assert not CHECKOUT_READ.search('STATIC = Path(__file__).parent / "static"')
