"""Versioned engine profiles: ``ENGINE@VERSION`` names a profile table of ``cost/profiles.toml``.

An engine's speculation overheads and host times change between its versions; each version with
evidence is a table ``["vllm@0.10"]`` (its ``base`` the engine's own table), and the engine's own
table (``[vllm]``) is the newest version with evidence, carrying ``engine_version``. A release
without a table of its own (``vllm@0.10.1``, ``sglang@0.5.9``) is priced by the newest version with
evidence at or before it, and a warning line names the profile used: a version's table stands for
its release and the ones after it, up to the next version with evidence.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from specroof.errors import SpecroofError, SpecroofWarning, suggest

_RELEASE = re.compile(r"^\d+(\.\d+)*$")


def release_tuple(version: str) -> tuple[int, ...] | None:
    """``"0.10.1"`` -> (0, 10, 1); None when ``version`` is not a dotted release number."""
    return tuple(int(part) for part in version.split(".")) if _RELEASE.match(version) else None


def engine_versions(engine: str, data: dict[str, Any]) -> dict[str, str]:
    """The versions with evidence of ``engine``'s profiles: version -> profile table."""
    versions = {str(data[engine].get("engine_version", "")): engine}
    versions.update({k.partition("@")[2]: k for k in data if k.startswith(engine + "@")})
    versions.pop("", None)
    return versions


def versioned_key(key: str, data: dict[str, Any]) -> str:
    """The table of ``key``: ``ENGINE@VERSION`` names a versioned table, or the engine's own
    table when that one carries the version (``engine_version``); a later release without a table
    takes the newest version at or before it (said in one warning line); a release older than
    every version, or not a release number, is refused with the engine's versions."""
    if key in data:
        return key
    engine, _, version = key.partition("@")
    if not (version and engine in data):
        raise SpecroofError(f"unknown implementation profile {key!r}{suggest(key, data)}; valid: {', '.join(data)}")
    versions = engine_versions(engine, data)
    if version in versions:
        return versions[version]
    release = release_tuple(version)
    older = [v for v in versions if release is not None and (release_tuple(v) or ()) <= release]
    if not older:
        raise SpecroofError(f"profile {engine!r} has no version {version!r} or older one; versions with evidence: "
                            f"{', '.join(sorted(versions, key=lambda v: release_tuple(v) or ())) or 'none'} "
                            f"(plain {engine!r}: the newest)")
    chosen = versions[max(older, key=lambda v: release_tuple(v) or ())]
    warnings.warn(SpecroofWarning(f"profile {key}: priced as {chosen}, the newest {engine} version with evidence "
                                  f"at or before {version}"), stacklevel=3)
    return chosen
