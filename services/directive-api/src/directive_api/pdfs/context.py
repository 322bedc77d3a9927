"""What the PDF steps need, built once per process: keys, seals, trust roots and the file store.

Its own module so that the slices above ``pdfs`` can hold a :class:`PdfContext` without importing
the pdfs service.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from pathlib import Path

from common.pdf.dev_pki import DevPki, ensure_dev_pki_in_child
from common.pdf.results import trust_fingerprint
from common.storage import FileStore
from directive_api.orgs.models import Unit
from directive_api.pdfs import jobs
from directive_api.pdfs.errors import SigningKeyMissingError
from directive_api.people.models import Person
from directive_api.settings import KeySource, Settings, SigningSettings


@dataclass
class Keys:
    """Signing keys, images and trust roots of this process, built once from the settings.

    Keys are handed to the worker processes as descriptions (:class:`jobs.KeySpec`) and loaded there.
    """

    settings: SigningSettings
    pki: DevPki | None

    @classmethod
    def from_settings(cls, settings: SigningSettings) -> Keys:
        dev_dir = settings.dev_pki_dir if settings.use_dev_pki else None
        pki = ensure_dev_pki_in_child(dev_dir) if dev_dir is not None else None
        return cls(settings=settings, pki=pki)

    def _spec(self, source: KeySource) -> jobs.KeySpec:
        if source.pkcs12 is not None:
            passphrase = source.passphrase_file.read_bytes().strip() if source.passphrase_file else None
            return jobs.KeySpec(pkcs12=str(source.pkcs12), passphrase=passphrase)
        if source.pkcs11_library and source.pkcs11_token_label and source.pkcs11_key_label:
            pin = source.pkcs11_pin_file.read_text().strip() if source.pkcs11_pin_file else ""
            return jobs.KeySpec(
                pkcs11_library=source.pkcs11_library,
                pkcs11_token_label=source.pkcs11_token_label,
                pkcs11_key_label=source.pkcs11_key_label,
                pkcs11_pin=pin,
            )
        raise SigningKeyMissingError("the key source names neither a PKCS#12 file nor a PKCS#11 key")

    async def signer(self, person: Person, unit: Unit) -> tuple[jobs.KeySpec, Path]:
        """The signer's key and signature image.

        A key configured for the person (``SIGNING__SIGNERS``) comes first; otherwise, with the
        development PKI and the person among ``SIGNING__DEV_SIGNERS`` (``*``: everyone), a
        development certificate naming the person and their unit, issued on first use.
        """
        source = self.settings.signers.get(person.id)
        if source is not None:
            image = source.image or (self.pki.signature_png if self.pki else None)
            if image is None:
                raise SigningKeyMissingError(f"no signature image configured for {person.id}")
            return self._spec(source), image
        dev = self.settings.dev_signers
        if self.pki is not None and ("*" in dev or person.id in dev):
            p12 = await asyncio.to_thread(self.pki.signer_for, person.id, person.full_name, unit.name)
            return jobs.KeySpec(pkcs12=str(p12), passphrase=self.pki.passphrase), self.pki.signature_png
        raise SigningKeyMissingError(f"no signing key is configured for {person.id}")

    def signature_image(self, person: Person) -> Path:
        """The signature image drawn for a signer whose key is elsewhere (their token, a remote service)."""
        source = self.settings.signers.get(person.id)
        image = (source.image if source else None) or (self.pki.signature_png if self.pki else None)
        if image is None:
            raise SigningKeyMissingError(f"no signature image configured for {person.id}")
        return image

    async def seal(self, unit: Unit) -> tuple[jobs.KeySpec, Path]:
        """The organisation's seal key and seal image (a development seal naming the unit when the
        development PKI is in use and no seal is configured for it)."""
        source = self.settings.seals.get(unit.code)
        if source is not None:
            image = source.image or (self.pki.seal_png if self.pki else None)
            if image is None:
                raise SigningKeyMissingError(f"no seal image configured for {unit.code}")
            return self._spec(source), image
        if self.pki is not None:
            p12, seal_png = await asyncio.to_thread(self.pki.seal_for, unit.code, unit.name)
            return jobs.KeySpec(pkcs12=str(p12), passphrase=self.pki.passphrase), seal_png
        raise SigningKeyMissingError(f"no seal key is configured for {unit.code}")

    def timestamper(self) -> str | None:
        """The RFC 3161 timestamper as a description: a URL, or ``dev:<pki folder>``."""
        if self.settings.tsa_url:
            return self.settings.tsa_url
        if self.settings.dev_timestamps and self.pki is not None:
            return f"dev:{self.pki.directory}"
        return None

    def trust_roots(self) -> tuple[bytes, ...]:
        """Root certificates (PEM) the verifier trusts."""
        return self._trust_roots

    @functools.cached_property
    def _trust_roots(self) -> tuple[bytes, ...]:
        # Read once per process, like the signing keys: not on every verification.
        roots = [path.read_bytes() for path in self.settings.trust_roots]
        if self.pki is not None:
            roots.append(self.pki.root_cert_pem.read_bytes())
        return tuple(roots)

    @functools.cached_property
    def trust_fingerprint(self) -> str:
        """Fingerprint of the trust roots, under which verdicts are stored."""
        return trust_fingerprint(self._trust_roots)

    def warm_up(self) -> functools.partial[None]:
        """What each PDF worker runs at its start (:func:`jobs.warm_up_job`): the first configured
        signer and seal (else the development PKI's), so that the first approval finds them loaded."""
        signer, signer_image = self._warm_key(self.settings.signers, "signer_p12", "signature_png")
        seal, seal_image = self._warm_key(self.settings.seals, "seal_p12", "seal_png")
        return functools.partial(
            jobs.warm_up_job, signer, signer_image, seal, seal_image, self.timestamper(), self.trust_roots()
        )

    def _warm_key(
        self, sources: dict[str, KeySource], dev_key: str, dev_image: str
    ) -> tuple[jobs.KeySpec | None, str | None]:
        source = next(iter(sources.values()), None)
        if source is not None:
            image = source.image or (getattr(self.pki, dev_image) if self.pki else None)
            try:
                return (self._spec(source), str(image)) if image is not None else (None, None)
            except (OSError, SigningKeyMissingError):
                return None, None  # the approval that needs it reports it
        if self.pki is not None:
            key = jobs.KeySpec(pkcs12=str(getattr(self.pki, dev_key)), passphrase=self.pki.passphrase)
            return key, str(getattr(self.pki, dev_image))
        return None, None


@dataclass
class PdfContext:
    """What the PDF steps need, built once per application."""

    settings: Settings
    keys: Keys
    store: FileStore

    @classmethod
    def from_settings(cls, settings: Settings) -> PdfContext:
        return cls(settings=settings, keys=Keys.from_settings(settings.signing), store=FileStore(settings.files_dir))
