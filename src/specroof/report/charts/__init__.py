"""Charts of speedup results: PNG or SVG files drawn with matplotlib's Agg backend, one module
per chart. Each ``plot_*`` writes a file (atomically) from the Figure its ``*_figure`` builds,
so tests and callers can read the Figure (axes, labels, the data drawn) without a file.

- :mod:`.speedup`: Medusa Figure 22 style, one line per batch size (or per context length when
  the grid has one batch and several ``seq_len``), optional published points overlaid.
- :mod:`.figure21`: Medusa Figure 21 style, acceptance length and speedup (left) and the
  speculative step's latency split by operator, normalized by the plain step (right).
- :mod:`.heatmap`: speedup over batch x candidates, diverging colours centred at 1.
- :mod:`.roofline`: the operators of one step on the accelerator's roofline.
- :mod:`.validation`: predicted vs measured step latency of a :func:`specroof.calibration.validate.validate`.
- :mod:`.common`: style, figure, save, output paths and reference CSV rows.

matplotlib is imported only when a chart is drawn.
"""

from specroof.report.charts.common import CHART_FORMATS, check_chart_path, read_reference_csv
from specroof.report.charts.figure21 import figure21_figure, plot_figure21
from specroof.report.charts.heatmap import heatmap_figure, plot_heatmap
from specroof.report.charts.roofline import plot_roofline, roofline_figure
from specroof.report.charts.speedup import plot_speedup_vs_candidates, speedup_figure
from specroof.report.charts.validation import plot_validation, validation_figure

__all__ = ["CHART_FORMATS", "check_chart_path", "figure21_figure", "heatmap_figure", "plot_figure21", "plot_heatmap",
           "plot_roofline", "plot_speedup_vs_candidates", "plot_validation", "read_reference_csv", "roofline_figure",
           "speedup_figure", "validation_figure"]
