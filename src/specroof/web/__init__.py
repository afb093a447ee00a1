"""The local web explorer (``specroof serve``) and the HTML study report (``specroof report``).

Needs the optional ``web`` extra (``pip install 'specroof[web]'``): Starlette and uvicorn for
the server, and the ``plotly`` wheel only for the plotly.js bundle it ships, which is served to
the page (or inlined into a report) so nothing is fetched from the network.

- :mod:`specroof.web.queries`: query parameters -> the CLI's own result objects and records
  (no web framework imported; the CLI and the API answer through the same functions).
- :mod:`specroof.web.figures`: Plotly figure specifications (plain dicts) of each view.
- :mod:`specroof.web.app`: the Starlette application (JSON API and the page).
- :mod:`specroof.web.report`: the self-contained HTML study.
"""
