"""Speculation under load: whole requests, arriving requests and continuous batching.

``requests``: a set of requests (arrival time, prompt and output lengths); ``arrivals``: how a
set is made (a Poisson process at a rate, a trace); ``executors``: running many independent
simulations (local processes, or a Ray cluster with the ``[ray]`` extra). The simulator prices
every step through the same operation lists as :func:`specroof.latency`; it only decides what is
in each step.
"""

from __future__ import annotations

from specroof.workload.kschedule import KSchedule
from specroof.workload.metrics import LoadMetrics, parse_slo, summarize
from specroof.workload.request_level import RequestLevel, request_level
from specroof.workload.requests import RequestSet
from specroof.workload.serving import Serving
from specroof.workload.simulator import SimulationResult, simulate

__all__ = ["KSchedule", "LoadMetrics", "RequestLevel", "RequestSet", "Serving", "SimulationResult", "parse_slo",
           "request_level", "simulate", "summarize"]
