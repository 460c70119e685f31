"""Latency measurement: the timing loop, per-layer self times, traces, calibration and the
reliability verdict."""
