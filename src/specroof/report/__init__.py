"""Output: tables for people, CSV/JSON for machines, charts (matplotlib, imported lazily)."""
