"""Where the page's JavaScript comes from: plotly.js, as shipped inside the ``plotly`` wheel.

Kept apart from the web application so that ``specroof report`` (which inlines the file)
needs plotly but not the server's packages.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from specroof.errors import SpecroofError


def plotly_js_path() -> Path:
    """plotly.min.js from the installed ``plotly`` wheel (SpecroofError without the web extra)."""
    try:
        path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    except ModuleNotFoundError:
        raise SpecroofError("charts in the browser need plotly, from the web extra: pip install 'specroof[web]'") from None
    if not path.is_file():
        raise SpecroofError(f"plotly.min.js is missing from the plotly package ({path}); reinstall plotly")
    return path
