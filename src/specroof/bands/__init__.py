"""Error bands and the ``validated`` flag on every latency, speedup and plan record.

:mod:`specroof.bands.stats` turns residuals of validations into bands (the tool
``tools/make_error_bands.py`` writes them to ``error_bands.csv``); :mod:`specroof.bands.apply`
puts them on results. See ``docs/error-bands.md``.
"""

from specroof.bands.apply import Domain, band_arrays, record_fields, step_domain, warn_unvalidated

__all__ = ["Domain", "band_arrays", "record_fields", "step_domain", "warn_unvalidated"]
