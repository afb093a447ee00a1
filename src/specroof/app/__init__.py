"""The application layer: settings and ``run_*()``, shared by the command line and the explorer.

- :mod:`specroof.app.settings`: the settings' flags (click options), and how flags, a scenario
  and the defaults merge into one :class:`~specroof.app.settings.Settings`;
- :mod:`specroof.app.parameters`: which options each computing command takes;
- :mod:`specroof.app.parsing`: grid lists and positive flags, read alike from a URL or a flag;
- :mod:`specroof.app.run`: option values -> result (``run_speedup``, ``run_plan``, ...);
- :mod:`specroof.app.tables`: results as rows (normalized latencies, JSON-safe values).

It sits above ``report`` and below ``web`` and ``cli``: both of those import it, never each other.
"""
