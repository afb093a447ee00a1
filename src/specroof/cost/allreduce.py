"""The time of an all-reduce over p devices, and the devices one interconnect domain joins.

Tensor parallelism adds two all-reduces of the step's activations per layer. Within one
domain (an NVSwitch board, a GB200 NVL72 rack, an NVLink-bridged pair, a server's PCIe) the
devices talk at ``interconnect_gbps``; beyond it an all-reduce crosses PCIe or the network
between nodes, which is not modelled, so it is refused (:func:`check_domain`).

Two measured implementations: the engine's custom all-reduce (the profile's ``allreduce_fits``,
per engine and GPU) and NCCL (``allreduce_nccl.toml``, per GPU: the library the engines fall
back to when their custom kernel is off). Both are fitted by ``tools/kernels/fit_parallel.py``
and ``tools/kernels/fit_physics.py`` to NVIDIA's kernel database; accuracy at decode sizes in
docs/kernel-accuracy-parallel.md. A third for GPUs that cannot reach each other's memory (the
profile's ``gpu_p2p`` false, common on cloud VMs): the engines need peer access for their custom
kernel and turn it off, and NCCL stages each all-reduce through host memory (its SHM transport),
priced by one line read off a published nccl-tests run (``allreduce_shm.toml``, docs/allreduce-shm.md).
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from specroof.datafiles import read_toml
from specroof.errors import SpecroofError, SpecroofWarning

if TYPE_CHECKING:
    from specroof.cost.profile import ImplementationProfile
    from specroof.hardware.accelerator import Accelerator


class LinkSetup(Protocol):
    """What an all-reduce's price reads: the device's links and the profile's fitted rows
    (a :class:`specroof.cost.setup.DeviceSetup` is one)."""

    @property
    def hardware(self) -> "Accelerator": ...

    @property
    def profile(self) -> "ImplementationProfile": ...


def allreduce_seconds(p: int, payload: np.ndarray, setup: LinkSetup) -> tuple[np.ndarray, np.ndarray]:
    """A ring all-reduce: each device sends and receives 2 (p - 1) / p of the payload.

    With a measured row for ``p`` GPUs in ``allreduce_fits`` it is the engine's custom
    all-reduce instead, the faster of its two algorithms (the library switches by size):
    one-shot, every GPU reads each of its p - 1 peers' whole buffers and reduces locally,
    ``latency + (p - 1) bytes / oneshot``; two-shot, reduce-scatter then all-gather (one more
    synchronization), ``latency + twoshot + 2 (p - 1) / p bytes / busbw``.

    Between measured group sizes the time is interpolated linearly in p between the two
    measured neighbours; beyond the largest it is the ring's, but never below the largest
    measured group's. So with no measured rows, or measured rows that grow with p, the cost
    never falls as p grows. The engines' measured kernels do not always grow: their custom
    all-reduce over 8 GPUs beats 4 by up to 14% at some sizes on H100/H200/B200, and over 4
    beats 2 by up to 11% on A100 and 46% on GB200 (docs/hardening.md); those measurements
    are kept, not overruled by a rule. Only groups within one interconnect domain are priced.
    """
    check_domain(p, setup.hardware, "all-reduce over")
    if not setup.profile.gpu_p2p:
        return shm_seconds(p, payload)
    if setup.profile.allreduce_nccl:
        rows, one = nccl_fits().get(setup.hardware.name, ()), _nccl_one
    else:
        rows, one = setup.profile.allreduce_fits, _allreduce_one
    measured = {int(row[0]): row for row in rows}
    below = [q for q in sorted(measured) if q < p]
    above = [q for q in sorted(measured) if q > p]
    if p in measured:
        seconds, transfer_s = one(p, payload, setup, measured[p])
    elif below and above:  # between two measured sizes: linear in p
        (low_s, low_t), (high_s, high_t) = (one(q, payload, setup, measured[q]) for q in (below[-1], above[0]))
        share = (p - below[-1]) / (above[0] - below[-1])
        seconds, transfer_s = low_s + share * (high_s - low_s), low_t + share * (high_t - low_t)
    else:
        seconds, transfer_s = one(p, payload, setup, None)
        if below:  # more devices than any measured group: never cheaper than the largest
            floor_s, floor_t = one(below[-1], payload, setup, measured[below[-1]])
            transfer_s = np.where(floor_s > seconds, floor_t, transfer_s)
            seconds = np.maximum(seconds, floor_s)
    return seconds, transfer_s


@lru_cache(maxsize=1)
def nccl_fits() -> dict[str, list[list[float]]]:
    """``{device: [[gpus, latency_us, busbw_gbps], ...]}``: NCCL's fitted all-reduce line per
    device and GPU count, shipped in allreduce_nccl.toml (made by ``tools/kernels/fit_parallel.py fit``)."""
    path = resources.files("specroof.cost") / "allreduce_nccl.toml"
    if not path.is_file():
        return {}
    data = read_toml(path, "allreduce_nccl.toml")
    return {k: v["rows"] for k, v in data.items() if k != "about"}


def nccl_seconds(p: int, payload: np.ndarray, latency_us: float, busbw_gbps: float) -> np.ndarray:
    """NCCL's all-reduce of ``payload`` bytes over ``p`` GPUs: a fixed latency (launch, the
    protocol's synchronization) plus the ring's ``2 (p - 1) / p`` of the payload at the fitted
    bus bandwidth (NCCL's own ``busbw`` convention, nccl-tests doc/PERFORMANCE.md)."""
    return latency_us * 1e-6 + 2 * (p - 1) / p * np.asarray(payload, dtype=float) / (busbw_gbps * 1e9)


def _nccl_one(p: int, payload: np.ndarray, setup: LinkSetup, fit: Any) -> tuple[np.ndarray, np.ndarray]:
    """(seconds, transfer seconds) of one NCCL all-reduce: the device's fitted line, else the ring."""
    if fit is None:
        return _allreduce_one(p, payload, setup, None)
    _, latency, busbw = fit
    seconds = nccl_seconds(p, payload, latency, busbw)
    return seconds, seconds - latency * 1e-6


@lru_cache(maxsize=1)
def shm_line() -> dict[str, Any]:
    """NCCL's all-reduce through host memory (its SHM transport, for GPUs without peer-to-peer
    access): ``rows`` of [gpus, latency_us, busbw_gbps], where and how it was measured. One line
    for every device: the transport is bounded by host memory and PCIe, not by the GPU
    (allreduce_shm.toml; docs/allreduce-shm.md)."""
    return read_toml(resources.files("specroof.cost") / "allreduce_shm.toml", "allreduce_shm.toml")["line"]


def shm_seconds(p: int, payload: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(seconds, transfer seconds) of one all-reduce staged through host memory.

    A ring over ``p`` GPUs makes 2 (p - 1) hops, each through host memory: the latency of the
    largest measured group ``q <= p`` grows as (p - 1) / (q - 1); the bus bandwidth (NCCL's
    convention, already normalised for p) is the measured one."""
    measured = {int(r[0]): r for r in shm_line()["rows"]}
    q = max((g for g in measured if g <= p), default=min(measured))
    _, latency_us, busbw_gbps = measured[q]
    latency_us *= (p - 1) / (q - 1)
    seconds = nccl_seconds(p, payload, latency_us, busbw_gbps)
    return seconds, seconds - latency_us * 1e-6


def check_p2p(gpu_p2p: bool, tp: int, ep: int) -> None:
    """GPUs without peer-to-peer access: one warning saying which line prices their all-reduces
    (or that the setting changes nothing on one GPU); expert parallelism refused, since its
    all-to-all (DeepEP) writes into peers' memory and does not run without peer access."""
    if gpu_p2p:
        return
    if ep > 1:
        raise SpecroofError(f"--ep {ep} with gpu_p2p false: expert parallelism's all-to-all (DeepEP) writes into "
                            "peers' memory and does not run without GPU peer-to-peer access; drop --ep (the experts "
                            "then split by tensor parallelism) or price GPUs with peer access")
    if tp == 1:
        warnings.warn(SpecroofWarning("gpu_p2p false changes nothing on one GPU (--tp 1): there is no all-reduce"),
                      stacklevel=4)
        return
    largest = max(int(r[0]) for r in shm_line()["rows"])
    beyond = f"; over {tp} GPUs its latency is scaled from {largest} by the ring's hops" if tp > largest else ""
    warnings.warn(SpecroofWarning(
        f"gpu_p2p false: every all-reduce runs NCCL through host memory (SHM), {shm_line()['summary']}{beyond}"),
        stacklevel=4)


def warn_unmeasured_nccl(device: str, nccl: bool, tp: int) -> None:
    """One warning when a profile prices NCCL all-reduces on a device NCCL was not measured on."""
    if not nccl or tp == 1 or device in nccl_fits():
        return
    warnings.warn(SpecroofWarning(
        f"allreduce_nccl: NCCL's all-reduce is not measured on {device} (measured: {', '.join(sorted(nccl_fits()))}); "
        "priced as a ring over the datasheet link (allreduce_latency_us + bytes at interconnect_efficiency)"),
        stacklevel=4)


def _allreduce_one(p: int, payload: np.ndarray, setup: LinkSetup, fit: Any) -> tuple[np.ndarray, np.ndarray]:
    """(seconds, transfer seconds) of one all-reduce over ``p`` devices: the measured custom
    all-reduce of a fitted row, else a ring over the datasheet link."""
    if fit is not None:
        _, latency, oneshot, twoshot, busbw = fit
        one = (p - 1) * payload / (oneshot * 1e9)
        two = twoshot * 1e-6 + 2 * (p - 1) / p * payload / (busbw * 1e9)
        transfer_s = np.minimum(one, two)
        return transfer_s + latency * 1e-6, transfer_s
    link = max(setup.hardware.interconnect_gbps, 1.0) * 1e9 * setup.profile.interconnect_efficiency
    transfer_s = 2 * (p - 1) / p * payload / link
    return transfer_s + setup.profile.allreduce_latency_us * 1e-6, transfer_s


def check_domain(devices: int, hardware: "Accelerator", what: str) -> None:
    """SpecroofError when ``devices`` exceed what one interconnect domain of ``hardware`` joins.

    ``interconnect_gbps`` is the scale-up link (NVLink, Infinity Fabric, a PCIe switch); an
    all-reduce over more devices crosses slower links (PCIe beyond a bridged pair, the network
    between nodes, with a latency growing with the node count), which specroof does not model:
    refused, not guessed.
    """
    domain = hardware.domain_gpus
    if devices > domain:
        said = "" if hardware.interconnect_domain_gpus else " (its hardware file states no interconnect_domain_gpus)"
        raise SpecroofError(f"{what} {devices:,} devices: one {hardware.name} interconnect domain joins {domain}{said}; "
                            "an all-reduce beyond it runs over slower links (PCIe or the network between nodes), "
                            f"which specroof does not price; use at most {domain}")
