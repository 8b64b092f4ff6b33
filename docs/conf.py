"""Sphinx configuration for the flask-passport documentation.

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (warnings are errors).
The build needs no network: no intersphinx, the graphviz diagrams are rendered by Debian's ``dot``.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the package in this checkout, not an installed copy
sys.path.insert(0, os.path.join(HERE, "_ext"))

import flask_passport  # noqa: E402

project = "flask-passport"
author = "flask-passport contributors"
copyright = "2026, flask-passport contributors"
release = flask_passport.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.graphviz",
    "sphinx.ext.viewcode",
    "passport_docs",
]

# Furo: maintained, accessible (light and dark), a sidebar that scales to ~40 pages, no JS
# build step. The Pallets theme is tied to the Pallets projects' branding and not installed.
html_theme = "furo"
html_title = f"flask-passport {release}"
html_static_path = ["_static"]
html_css_files = ["passport.css"]

exclude_patterns = ["_build", "samples/README.md"]
templates_path: list[str] = []

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_mock_imports: list[str] = []

graphviz_output_format = "svg"
graphviz_dot_args = ["-Gfontname=Helvetica", "-Nfontname=Helvetica", "-Efontname=Helvetica"]

pygments_style = "friendly"
pygments_dark_style = "monokai"


def _skip_columns(app: object, what: str, name: str, obj: object, skip: bool,
                  options: object) -> bool | None:
    """Leave SQLAlchemy column attributes out of member lists: their value is an unhelpful repr.
    The columns that matter are documented explicitly (``autoattribute`` with ``:no-value:``)."""
    from sqlalchemy.orm.properties import MappedColumn

    return True if isinstance(obj, MappedColumn) else None


def setup(app: object) -> None:
    app.connect("autodoc-skip-member", _skip_columns)  # type: ignore[attr-defined]
