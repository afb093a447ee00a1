"""Model architectures: a typed description read from Hugging Face ``config.json`` files."""

from specroof.models.architecture import ModelConfig, catalog_names, load_model

__all__ = ["ModelConfig", "catalog_names", "load_model"]
