"""directive-api settings, read from ``DIRECTIVE_API_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.observability import ObservabilitySettings
from common.outbox import WebhookSettings
from common.settings import AuthSettings, DatabaseSettings, nested_defaults


class KeySource(BaseModel):
    """Where a signing key lives: a PKCS#12 file, or a PKCS#11 token (HSM, USB token)."""

    pkcs12: Path | None = None
    passphrase_file: Path | None = None
    pkcs11_library: str | None = None
    pkcs11_token_label: str | None = None
    pkcs11_key_label: str | None = None
    pkcs11_pin_file: Path | None = None
    image: Path | None = None
    """The visible image: the person's blue signature, or the organisation's red seal (PNG)."""


class SigningSettings(BaseModel):
    """Keys that sign (approval) and seal (issue) documents, and the roots the verifier trusts."""

    dev_pki_dir: Path | None = Path("var/pki")
    """Where the development CA, TSA, signers' and seals' certificates are created on first use."""
    use_dev_pki: bool = True
    """Use the development PKI at all; set ``SIGNING__USE_DEV_PKI=false`` in production."""
    dev_signers: list[str] = Field(default_factory=lambda: ["*"])
    """People who sign with a development certificate (issued for them on first use, naming them and
    their unit) when no key of their own is configured; ``*`` is everyone."""
    signers: dict[str, KeySource] = Field(default_factory=dict)
    """Signing keys by person id."""
    seals: dict[str, KeySource] = Field(default_factory=dict)
    """Seal keys by issuing unit code."""
    trust_roots: list[Path] = Field(default_factory=list)
    """PEM root certificates the verifier trusts (the development root is added when used)."""
    tsa_url: str | None = None
    """RFC 3161 time-stamping authority; signatures carry a timestamp when set."""
    dev_timestamps: bool = True
    """Timestamp with the development PKI's in-process TSA when no ``tsa_url`` is set, so that
    signatures are PAdES B-T on the embedded default too."""
    csc_url: str | None = None
    """The remote signing service (Cloud Signature Consortium API v2, base URL before ``/csc/v2``)
    used for signers in ``remote`` mode; without it, the ``remote`` mode is unavailable."""
    csc_token: SecretStr | None = None
    """This service's bearer token at the remote signing service."""
    request_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    """How long a signing request (``client`` and ``remote`` signers) waits for the signature; after
    that the document returns to ``submitted``."""


class Subscriber(BaseModel):
    """A webhook subscription ensured at start-up (infrastructure peers such as report-api)."""

    owner: str
    url: str
    secret: SecretStr
    event_types: list[str] = Field(default_factory=lambda: ["*"])


class VxpSettings(BaseModel):
    """This office's membership of a VXP hub (the national exchange, or the local double)."""

    base_url: str
    """The hub, e.g. ``http://127.0.0.1:8010``; each operation is appended (``/sendEdoc``)."""
    system_id: str
    secret: SecretStr
    max_attempts: int = Field(default=8, ge=1)
    """Sending attempts of one package before it is dead-lettered (back-off doubles, up to 10 min)."""
    timeout_seconds: float = 30.0


class SenderContact(BaseModel):
    """How a unit is reached, written in the ``From`` of its packages."""

    address: str | None = None
    email: str | None = None
    telephone: str | None = None
    fax: str | None = None
    website: str | None = None


class ExchangeSettings(BaseModel):
    """The national document exchange (edXML packages)."""

    contacts: dict[str, SenderContact] = Field(default_factory=dict)
    """Contact details of issuing units by unit code (``From/OrganAdd``, ``Email``, ``Telephone``,
    ``Fax``, ``Website``)."""

    vxp: VxpSettings | None = None
    """When set, the worker sends dispatched documents and recalls through the hub and applies the
    status and reply packages it finds there (``EXCHANGE__VXP__BASE_URL`` …)."""

    sign_packages: bool = True
    """Sign outgoing packages (XML-DSig, enveloped) with the issuing unit's seal key (``SIGNING__SEALS``,
    or the development seal)."""
    partner_certificates: dict[str, Path] = Field(default_factory=dict)
    """Organ id → PEM certificate of a partner that signs its packages: its status and reply packages
    must carry a valid signature by that key, or they are refused."""


AUTH_ISSUER = "https://id.cantho.local"
"""Default ``AUTH__ISSUER``: the ``iss`` of the Office's identity provider (the development OIDC
provider of ``make run`` signs with it too). Both services accept the same tokens."""
AUTH_AUDIENCE = "cantho-directives"
"""Default ``AUTH__AUDIENCE``: the ``aud`` of the tokens both services accept."""


class Settings(BaseSettings):
    """Every setting of the service; nested ones use ``__`` (``DIRECTIVE_API_DATABASE__URL``)."""

    model_config = SettingsConfigDict(env_prefix="DIRECTIVE_API_", env_nested_delimiter="__", extra="ignore")

    database: DatabaseSettings = Field(
        default_factory=lambda: DatabaseSettings(url="sqlite+aiosqlite:///var/directive-api.db")
    )
    auth: Annotated[AuthSettings, nested_defaults(issuer=AUTH_ISSUER, audience=AUTH_AUDIENCE)] = Field(
        default_factory=lambda: AuthSettings(
            issuer=AUTH_ISSUER, audience=AUTH_AUDIENCE, public_key_file=Path("var/keys/jwt-public.pem")
        )
    )

    timezone: str = "Asia/Ho_Chi_Minh"
    """Time zone of the issuing office: issue dates and the register year follow it."""
    public_base_url: str = "http://127.0.0.1:8001"
    """Base URL printed in verification QR codes and links."""
    public_requests_per_minute: int = Field(default=60, ge=1, le=100_000)
    """Requests one client (by address) may make per minute to the public pages ``/verify/…``
    (a burst of that size, refilled evenly); more answer 429 with ``Retry-After``. Counted per
    process: with several web processes a client gets that many per process."""
    max_request_bytes: int = 2_000_000
    files_dir: Path = Path("var/files")
    """Where PDFs are stored, under their SHA-256."""
    max_verify_bytes: int = 25_000_000
    """Largest PDF accepted by ``POST /v1/verify``."""
    signing: SigningSettings = Field(default_factory=SigningSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    """JSON logs, Prometheus metrics at ``/metrics``, tracing when ``OBSERVABILITY__OTLP_ENDPOINT`` is set."""
    subscribers: list[Subscriber] = Field(default_factory=list)
    """Subscriptions created or updated at start-up, e.g. report-api's event inbox."""
    inbox_secrets: list[SecretStr] = Field(default_factory=list)
    """Secrets that sign the events report-api sends to ``POST /v1/inbox/events`` (rotation: several)."""
    organ_ids: dict[str, str] = Field(default_factory=dict)
    """QCVN 102:2016 identifiers (mã định danh) by unit code, for units whose directory entry has none
    (the directory's ``organ_id`` is the place for them: ``directive-api import-organ-ids``)."""
    exchange: ExchangeSettings = Field(default_factory=ExchangeSettings)
    office_unit_code: str = "VPUB"
    """The Office (Văn phòng UBND): its ``admin`` administers the directory and sees and may deactivate
    every webhook subscription; its ``auditor`` reads the directory's history."""
    exchange_relays: dict[str, list[str]] = Field(default_factory=dict)
    """Exchange integrations that post edXML packages for other units: the client id (the token's
    ``sub``, role ``integration``) → the unit codes or organ ids it relays for (``*``: every sender,
    as the gateway to the national exchange; only such a client may post packages of senders the
    directory does not know, which are quarantined). Any other caller may post only packages whose
    sender is its own unit."""
    max_exchange_bytes: int = 50_000_000
    """Largest edXML package accepted."""
    run_workers_in_process: bool = False
    """Run the event relay and the dispatch timer inside the web process (the embedded default)."""
    pdf_workers: int | None = Field(default=None, ge=1)
    """Processes that render, sign, seal and verify PDFs (default: one per core the container may use,
    no more than its memory limit holds: common.container.pdf_pool_size). They run at a lower
    CPU priority than the web process; on a small machine where reads must stay fast while documents
    are issued, one fewer than the cores keeps a core for requests and PostgreSQL, at the cost of PDF
    throughput (docs/operations.md, "PDF workers")."""


def production_problems(settings: Settings) -> list[str]:
    """What keeps these settings from production (see :mod:`common.production`), one line per setting."""
    from common import production

    prefix = "DIRECTIVE_API_"
    problems = production.auth_problems(settings.auth, prefix)
    problems += production.database_problems(f"{prefix}DATABASE__URL", settings.database.url)
    problems += production.url_problems(f"{prefix}PUBLIC_BASE_URL", settings.public_base_url)
    signing = settings.signing
    if signing.use_dev_pki:
        problems.append(
            f"{prefix}SIGNING__USE_DEV_PKI=true: the development PKI signs and seals; set it to false and give "
            "SIGNING__SIGNERS, SIGNING__SEALS and SIGNING__TRUST_ROOTS"
        )
    for path in signing.trust_roots:
        development = production.made_by_development_pki(path)
        if development is None:
            problems.append(f"{prefix}SIGNING__TRUST_ROOTS: {path} is not a readable PEM certificate")
        elif development or (
            signing.dev_pki_dir is not None and path.resolve() == (signing.dev_pki_dir / "root-ca.pem").resolve()
        ):
            problems.append(f"{prefix}SIGNING__TRUST_ROOTS: {path} is the development root")
    for kind, sources in (("SIGNERS", signing.signers), ("SEALS", signing.seals)):
        for key, source in sources.items():
            if source.pkcs12 is not None and signing.dev_pki_dir is not None:
                dev_dir = signing.dev_pki_dir.resolve()
                if dev_dir in source.pkcs12.resolve().parents:
                    problems.append(f"{prefix}SIGNING__{kind}[{key}]: a key of the development PKI ({source.pkcs12})")
    problems += production.secret_problems(
        f"{prefix}INBOX_SECRETS", [s.get_secret_value() for s in settings.inbox_secrets]
    )
    for index, subscriber in enumerate(settings.subscribers):
        problems += production.secret_problems(
            f"{prefix}SUBSCRIBERS[{index}].secret", [subscriber.secret.get_secret_value()]
        )
    return problems


@lru_cache
def get_settings() -> Settings:
    """The settings of this process (environment read once)."""
    return Settings()
