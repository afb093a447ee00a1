"""Accelerators: datasheet figures (one TOML file per device) and calibrated profiles."""

from specroof.hardware.accelerator import Accelerator, catalog_names, load_hardware

__all__ = ["Accelerator", "catalog_names", "load_hardware"]
