"""Speculation under load: whole requests, arriving requests and continuous batching.

``requests``: a set of requests (arrival time, prompt and output lengths); ``arrivals``: how a
set is made (a Poisson process at a rate, a trace); ``executors``: running many independent
simulations (local processes, or a Ray cluster with the ``[ray]`` extra). The simulator prices
every step through the same operation lists as :func:`specroof.latency`; it only decides what is
in each step.
"""

from __future__ import annotations

from specroof.workload.requests import RequestSet

__all__ = ["RequestSet"]
