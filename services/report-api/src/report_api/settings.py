"""report-api settings, read from ``REPORT_API_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.calendar import WorkingCalendar
from common.observability import ObservabilitySettings
from common.outbox import WebhookSettings
from common.settings import AuthSettings, DatabaseSettings, nested_defaults


class PagesSettings(BaseModel):
    """Sign-in of the pages for people (``REPORT_API_PAGES__…``): OpenID Connect code flow with PKCE."""

    oidc_issuer: str | None = None
    """The identity provider (its ``/.well-known/openid-configuration``); pages answer 503 without it."""
    oidc_client_id: str = "report-api"
    oidc_client_secret: SecretStr | None = None
    session_secret: SecretStr | None = None
    """Signs the session cookie; a random one per process when unset (sessions end on restart)."""
    session_ttl_seconds: int = Field(default=8 * 3600, ge=60, le=7 * 24 * 3600)
    cookie_secure: bool = True
    """``Secure`` session cookies (HTTPS only); false only for plain-HTTP development on loopback."""


AUTH_ISSUER = "https://id.cantho.local"
"""Default ``AUTH__ISSUER``: the ``iss`` of the Office's identity provider (the development OIDC
provider of ``make run`` signs with it too). Both services accept the same tokens."""
AUTH_AUDIENCE = "cantho-directives"
"""Default ``AUTH__AUDIENCE``: the ``aud`` of the tokens both services accept."""


class Settings(BaseSettings):
    """Every setting of the service; nested ones use ``__`` (``REPORT_API_DATABASE__URL``)."""

    model_config = SettingsConfigDict(env_prefix="REPORT_API_", env_nested_delimiter="__", extra="ignore")

    database: DatabaseSettings = Field(
        default_factory=lambda: DatabaseSettings(url="sqlite+aiosqlite:///var/report-api.db")
    )
    auth: Annotated[AuthSettings, nested_defaults(issuer=AUTH_ISSUER, audience=AUTH_AUDIENCE)] = Field(
        default_factory=lambda: AuthSettings(
            issuer=AUTH_ISSUER, audience=AUTH_AUDIENCE, public_key_file=Path("var/keys/jwt-public.pem")
        )
    )

    timezone: str = "Asia/Ho_Chi_Minh"
    directive_api_url: str = "http://127.0.0.1:8001"
    """Where directive-api's event feed and webhooks come from."""
    webhook_secrets: str = ""
    """``REPORT_API_WEBHOOK_SECRETS``: the active ``whsec_…`` secrets of the inbox, comma-separated
    (two during a rotation). Without one, the inbox refuses every delivery."""
    webhook_tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    office_unit_code: str = "VPUB"
    """The unit whose monitors and admins follow compliance (the Office of the People's Committee)."""
    default_supervisor_code: str = "UBND-TP"
    """Where a Kiểm điểm escalates when the dispatched event names no supervising body of the unit."""
    evidence_dir: Path = Path("var/evidence")
    """``REPORT_API_EVIDENCE_DIR``: folder of uploaded evidence files (outside any served folder)."""
    evidence_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    """``REPORT_API_EVIDENCE_MAX_BYTES``: the largest accepted evidence file."""
    extra_days_off: str = ""
    """``REPORT_API_EXTRA_DAYS_OFF``: announced days off beyond ``holidays.VN`` (``2026-02-14..2026-02-22``)."""
    extra_working_days: str = ""
    """``REPORT_API_EXTRA_WORKING_DAYS``: announced make-up working days."""
    reminder_hour: int = Field(default=8, ge=0, le=23)
    """Local hour at which scheduled reminders of a day fall due."""
    timer_interval_seconds: float = Field(default=60.0, gt=0)
    report_signer_lines: list[str] = Field(
        default_factory=lambda: ["KT. CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG"], min_length=1, max_length=4
    )
    """``REPORT_API_REPORT_SIGNER_LINES`` (JSON list): authority lines of the PDF compliance report's signer."""
    report_signer_name: str = Field(default="Lê Xuân Hoa", min_length=1)
    """``REPORT_API_REPORT_SIGNER_NAME``: the signer printed on the PDF compliance report."""
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    """Delivery policy of report-api's own events (to directive-api and e-office systems)."""
    pages: PagesSettings = Field(default_factory=PagesSettings)
    """Sign-in and session of the HTML pages (portfolio) for Office staff."""
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    """JSON logs, Prometheus metrics at ``/metrics``, tracing when ``OBSERVABILITY__OTLP_ENDPOINT`` is set."""
    directive_api_inbox_url: str | None = None
    """directive-api's ``/v1/inbox/events``: obligation events are delivered there when set."""
    directive_api_inbox_secret: SecretStr | None = None
    """The secret directive-api checks on those deliveries (its ``INBOX_SECRETS``)."""
    run_workers_in_process: bool = False
    """Run the timers and the event relay inside the web process (the embedded default)."""
    """Pause between two runs of ``report-api run-timers``."""

    def calendar(self) -> WorkingCalendar:
        """The working-day calendar with this deployment's announced changes."""
        return WorkingCalendar.from_settings(self.extra_days_off, self.extra_working_days)

    def webhook_secret_list(self) -> list[str]:
        """The configured inbox secrets."""
        return [s.strip() for s in self.webhook_secrets.split(",") if s.strip()]


def production_problems(settings: Settings) -> list[str]:
    """What keeps these settings from production (see :mod:`common.production`), one line per setting."""
    from common import production

    prefix = "REPORT_API_"
    problems = production.auth_problems(settings.auth, prefix)
    problems += production.database_problems(f"{prefix}DATABASE__URL", settings.database.url)
    problems += production.secret_problems(f"{prefix}WEBHOOK_SECRETS", settings.webhook_secret_list())
    inbox = settings.directive_api_inbox_secret
    if inbox is not None:
        problems += production.secret_problems(f"{prefix}DIRECTIVE_API_INBOX_SECRET", [inbox.get_secret_value()])
    return problems


@lru_cache
def get_settings() -> Settings:
    """The settings of this process (environment read once)."""
    return Settings()
