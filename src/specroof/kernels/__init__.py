"""Measured kernel timings: NVIDIA's aiconfigurator-core database and a committed extract.

Nothing here is imported at CLI start-up. Reading the full database needs the optional extra
``pip install 'specroof[kernels]'``; the committed CSV extract needs only numpy.
"""

from specroof.kernels.extract import extract_listing, read_extract
from specroof.kernels.schema import FAMILIES

__all__ = ["FAMILIES", "extract_listing", "read_extract", "listing", "load"]


def listing(root=None):
    from specroof.kernels.database import listing as _listing
    return _listing(root)


def load(gpu, engine, family, version=None, root=None):
    from specroof.kernels.database import load as _load
    return _load(gpu, engine, family, version, root)
