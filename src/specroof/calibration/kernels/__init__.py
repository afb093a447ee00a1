"""The engine-kernel fit: profile fields of the cost model fitted to NVIDIA's measured kernels.

This is calibration (it prices rows with :mod:`specroof.cost`), so it lives above ``cost/``;
:mod:`specroof.kernels` below only reads the measured rows (database and extract).

- :mod:`.physics`: rows priced by the cost model's pricing functions, and the fitted fields;
- :mod:`.selection`: which rows each fitted section covers;
- :mod:`.fitting`: one section's fit and held-out score, and the loop over an engine's sections;
- :mod:`.heldout`: stricter splits (whole shape values, whole GPUs left out);
- :mod:`.calibrate`: ``specroof calibrate --kernels`` on the user's installed database.
"""
