"""infra/lazy_inits.py: a re-exporting package __init__ made lazy keeps its interface and imports on first use."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from infra.lazy_inits import MARKER, NotReExporting, lazy_source, make_lazy

INIT = '''"""A package that re-exports."""

from pathlib import Path

from .shapes import Circle, Square as Box
from .event_source import event_source
from pkg.logs import set_handler
from pkg.heavy import Heavy

__all__ = ["Circle", "Box", "event_source", "Heavy"]
HOME = Path(__file__).parent
set_handler()
'''

MODULES = {
    "shapes.py": "class Circle: ...\nclass Square: ...\n",
    "event_source.py": "def event_source(): return 'decorator'\n",
    "logs.py": "CALLS = []\ndef set_handler(): CALLS.append(1)\n",
    "heavy.py": "import sys\nsys.modules['pkg'].HEAVY_LOADED = True\nclass Heavy: ...\n",
}


def _package(root: Path, init: str = INIT) -> Path:
    package = root / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text(init)
    for name, source in MODULES.items():
        (package / name).write_text(source)
    return root


def _run(root: Path, code: str) -> str:
    done = subprocess.run([sys.executable, "-B", "-c", textwrap.dedent(code)], cwd=root, capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()


def test_names_are_imported_on_first_access_bound_to_the_same_objects(tmp_path: Path) -> None:
    make_lazy(_package(tmp_path), ("pkg",))
    assert MARKER in (tmp_path / "pkg" / "__init__.py").read_text()
    out = _run(tmp_path, """
        import sys, pkg
        before = sorted(m for m in sys.modules if m.startswith("pkg."))
        from pkg import Box
        import pkg.shapes
        print(before, "heavy" in dir(pkg), Box is pkg.shapes.Square, pkg.Circle is pkg.shapes.Circle,
              hasattr(pkg, "HEAVY_LOADED"), pkg.Heavy.__module__, hasattr(pkg, "HEAVY_LOADED"))
    """)
    # Only what the eager statements need was imported with the package: logs (set_handler() runs at import),
    # event_source (its name is also a submodule's).
    assert out == "['pkg.event_source', 'pkg.logs'] True True True False pkg.heavy True"


def test_eager_statements_still_run_and_names_that_are_submodules_stay_the_function(tmp_path: Path) -> None:
    make_lazy(_package(tmp_path), ("pkg",))
    out = _run(tmp_path, """
        import pkg
        import pkg.event_source
        print(pkg.logs.CALLS, pkg.HOME.name, pkg.event_source(), sorted(pkg.__all__))
    """)
    assert out == "[1] pkg decorator ['Box', 'Circle', 'Heavy', 'event_source']"


def test_an_unknown_name_is_an_attribute_error_as_before(tmp_path: Path) -> None:
    make_lazy(_package(tmp_path), ("pkg",))
    out = _run(tmp_path, """
        import pkg
        try:
            from pkg import Missing
        except ImportError as error:
            print(type(error).__name__)
    """)
    assert out == "ImportError"


def test_running_twice_leaves_the_lazy_file_as_it_is(tmp_path: Path) -> None:
    _package(tmp_path)
    make_lazy(tmp_path, ("pkg",))
    once = (tmp_path / "pkg" / "__init__.py").read_text()
    make_lazy(tmp_path, ("pkg",))
    assert (tmp_path / "pkg" / "__init__.py").read_text() == once


@pytest.mark.parametrize("extra", ["def helper():\n    return 1\n", "from .shapes import *\n",
                                   "class Registry:\n    pass\n"])
def test_an_init_that_does_more_than_re_export_is_refused(extra: str) -> None:
    with pytest.raises(NotReExporting):
        lazy_source(INIT + extra, "pkg")
