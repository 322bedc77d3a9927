"""The production guard: a process started with ``DIRECTIVE_API_ENVIRONMENT=production`` refuses
settings that only make sense in development (today: the development signing PKI and its keys).

One function, :func:`production_problems`, lists what is wrong; extend it with further checks.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from directive_api.settings import Settings

DEV_PKI_ORGANISATION = "Development PKI"
"""The organisation of every certificate the development PKI makes (common.pdf.dev_pki)."""


class ProductionSettingsError(RuntimeError):
    """The settings of a production process name development keys (the message says which)."""


def _inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _development_certificate(pem_file: Path) -> bool | None:
    """Whether a PEM file holds a certificate made by the development PKI (None: unreadable)."""
    try:
        certificates = x509.load_pem_x509_certificates(pem_file.read_bytes())
    except (OSError, ValueError):
        return None
    for certificate in certificates:
        for name in (certificate.subject, certificate.issuer):
            organisations = name.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
            if any(attribute.value == DEV_PKI_ORGANISATION for attribute in organisations):
                return True
    return False


def production_problems(settings: Settings) -> list[str]:
    """What makes ``settings`` unfit for production, one line each; nothing outside production."""
    if settings.environment != "production":
        return []
    signing = settings.signing
    problems: list[str] = []
    if signing.use_dev_pki:
        problems.append("DIRECTIVE_API_SIGNING__USE_DEV_PKI is true: the development PKI must not sign in production")
    if signing.dev_timestamps:
        problems.append("DIRECTIVE_API_SIGNING__DEV_TIMESTAMPS is true: use SIGNING__TSA_URL")
    if not signing.seals:
        problems.append("DIRECTIVE_API_SIGNING__SEALS is empty: give each issuing unit's seal key")
    if not signing.trust_roots:
        problems.append("DIRECTIVE_API_SIGNING__TRUST_ROOTS is empty: give the roots verification trusts")
    for kind, sources in (("SIGNERS", signing.signers), ("SEALS", signing.seals)):
        for name, source in sources.items():
            if source.pkcs12 is not None and _inside(source.pkcs12, signing.dev_pki_dir):
                problems.append(f"DIRECTIVE_API_SIGNING__{kind}[{name}] is a development key ({source.pkcs12})")
    for root in signing.trust_roots:
        development = _development_certificate(root)
        if development is None:
            problems.append(f"DIRECTIVE_API_SIGNING__TRUST_ROOTS: {root} is not a readable PEM certificate")
        elif development or _inside(root, signing.dev_pki_dir):
            problems.append(f"DIRECTIVE_API_SIGNING__TRUST_ROOTS: {root} is the development root")
    return problems


def check_production(settings: Settings) -> None:
    """Raise :class:`ProductionSettingsError` naming every problem of a production process."""
    problems = production_problems(settings)
    if problems:
        raise ProductionSettingsError("refusing to start in production: " + "; ".join(problems))
