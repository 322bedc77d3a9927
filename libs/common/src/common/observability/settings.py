"""What a service reports on itself, part of each service's settings."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr

__all__ = ["ObservabilitySettings"]


class ObservabilitySettings(BaseModel):
    """How a service reports on itself; include it in the service settings as ``observability``.

    Attributes:
        log_level: Level of the root logger (``DEBUG``, ``INFO``, ``WARNING`` …).
        json_logs: One JSON object per line (production); plain text when false (development).
        metrics_enabled: Serve ``GET /metrics`` and record request metrics.
        otlp_endpoint: OTLP/HTTP collector, e.g. ``http://otel-collector:4318``; tracing is off
            when unset.
    """

    log_level: str = "INFO"
    json_logs: bool = True
    metrics_enabled: bool = True
    otlp_endpoint: str | None = None
    metrics_token: SecretStr | None = None
    """Bearer token Prometheus sends to scrape ``/metrics`` from another host (loopback needs none;
    a JWT with the monitor, admin, auditor or metrics role also works)."""
