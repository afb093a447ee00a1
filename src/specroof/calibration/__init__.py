"""Calibration: measured step latencies, the harness that takes them, and fitting.

- :mod:`specroof.calibration.measurements`: the JSON-lines measurement format
  (:class:`~specroof.calibration.measurements.Measurement`, ``load_measurements``,
  ``write_measurements``).
- :mod:`specroof.calibration.measure`: the harness behind ``specroof measure`` (needs torch,
  imported only when a measurement runs).

Nothing heavy is imported here, so ``import specroof.calibration`` stays cheap.
"""
