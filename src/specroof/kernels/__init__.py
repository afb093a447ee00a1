"""Measured kernel timings: NVIDIA's aiconfigurator-core database and a committed extract.

Data only (floor 1: imports nothing above :mod:`specroof.errors`): the reader of the database,
the extract and their normalized schema. The fit of the cost model's kernel fields to these
rows is calibration: :mod:`specroof.calibration.kernels`.

Nothing here is imported at CLI start-up. Reading the full database needs the optional extra
``pip install 'specroof[kernels]'`` (pandas and pyarrow, imported only when a table is read);
the committed CSV extract needs only numpy.
"""

from specroof.kernels.database import listing, load
from specroof.kernels.extract import extract_listing, read_extract
from specroof.kernels.schema import FAMILIES

__all__ = ["FAMILIES", "extract_listing", "read_extract", "listing", "load"]
