"""Versioned engine profiles: ``ENGINE@VERSION`` names a profile table of ``cost/profiles.toml``.

An engine's speculation overheads and host times change between its versions; each version with
evidence is a table ``["vllm@0.10"]`` (its ``base`` the engine's own table), and the engine's own
table (``[vllm]``) is the newest version with evidence, carrying ``engine_version``.
"""

from __future__ import annotations

from typing import Any

from specroof.errors import SpecroofError, suggest


def versioned_key(key: str, data: dict[str, Any]) -> str:
    """The table of ``key``: ``ENGINE@VERSION`` names a versioned table, or the engine's own
    table when that one carries the version (``engine_version``); an unknown version lists the
    engine's versions."""
    if key in data:
        return key
    engine, _, version = key.partition("@")
    if version and engine in data:
        versions = {str(data[engine].get("engine_version", "")): engine}
        versions.update({k.partition("@")[2]: k for k in data if k.startswith(engine + "@")})
        versions.pop("", None)
        if version in versions:
            return versions[version]
        raise SpecroofError(f"profile {engine!r} has no version {version!r}; versions with evidence: "
                            f"{', '.join(sorted(versions)) or 'none'} (plain {engine!r}: the newest)")
    raise SpecroofError(f"unknown implementation profile {key!r}{suggest(key, data)}; valid: {', '.join(data)}")
