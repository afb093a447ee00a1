"""The profile a step on a device starts from: the named one, or the one a calibrated device file names.

Profiles sit a floor above devices in meaning (a device file may name its ``profile_base`` and
override fitted ``[profile]`` fields), so the two are joined here, once, for the step's setup and
the kernel-latency view.
"""

from __future__ import annotations

from typing import Any

from specroof.cost.profile import ImplementationProfile, get_profile, profile_fields
from specroof.errors import SpecroofError


def device_base(accel: Any, profile: "str | ImplementationProfile | None") -> ImplementationProfile:
    """The profile a step on ``accel`` starts from: ``profile``, else the one a calibrated
    device file names (``profile_base``; checked here, used or not: profiles sit a floor above
    devices, and a broken file is never passed over in silence)."""
    own = None
    if accel.profile_base is not None:
        try:
            own = get_profile(accel.profile_base)
        except SpecroofError as exc:
            raise SpecroofError(f"{accel.where}: profile_base: {exc}") from None
    return get_profile(profile) if profile is not None or own is None else own


def with_device_fields(prof: ImplementationProfile, accel: Any,
                       profile: "str | ImplementationProfile | None") -> ImplementationProfile:
    """``prof`` with a calibrated device's ``[profile]`` fields, checked and named by its file;
    applied only when the step uses the device's own profile (``profile`` None or its
    ``profile_base``), checked always."""
    if not accel.profile_overrides:
        return prof
    fields = profile_fields(dict(accel.profile_overrides), f"{accel.where}: [profile]")
    if not (profile is None or profile == accel.profile_base):
        return prof
    return prof.with_overrides(**fields)
