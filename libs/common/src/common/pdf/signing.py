"""PAdES signing of rendered documents: the signer's certification, then the number, date and seal.

The flow (the recipe of the product brief's PDF-FILL-AFTER-SIGN.md):

1. ``render_pdf(view, for_signing=True)`` (:mod:`common.pdf.render`) leaves the number and date
   lines empty when the document has no number or issue date yet, and returns their boxes.
2. :func:`sign_as_signer` adds, in one incremental revision, the empty number and date text fields
   showing the blank lines (:func:`add_blank_text_fields`), the two signature fields
   (:func:`prepare_signature_fields`), and applies the competent signer's PAdES **certification**
   signature (DocMDP: form filling and signing allowed; a FieldMDP lock on everything but the
   number, the date and the seal field), with the blue signature image between the title and the
   name.
3. :func:`fill_and_seal` fills the number and date fields (new value and appearance, read-only) and
   applies the organisation's seal signature (red seal image over the left third of the signature),
   which locks the document (DocMDP "no changes"), in one incremental revision.

Validators then report the signer's signature as intact with modification level FORM_FILLING and
the seal's as covering the entire file.

Given a :class:`~common.pdf.ltv.RevocationSpec`, each signature is validated before it is made and
the OCSP responses and CRLs its certificates name are embedded in the same revision (PAdES B-LT, see
:mod:`common.pdf.ltv`); certificates that name none are signed B-T as before.

Every function here is synchronous (each runs an event loop of its own, see :mod:`common.pdf.aio`):
call it from a worker thread or process, or use the ``*_async`` variants on an event loop.
"""

from __future__ import annotations

import functools
import io
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from PIL import Image
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.form_tools import populate_static_text_field
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import FieldMDPAction, FieldMDPSpec, MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from common.pdf import aio, pyhanko_speedups
from common.pdf.fields import (
    FIELD_DATE,
    FIELD_NUMBER,
    FIELD_SEAL,
    FIELD_SIGNATURE,
    FieldBox,
    add_annex_reference_fields,
    add_text_field,
    date_style,
    default_appearance,
    fill_annex_references,
    number_style,
)
from common.pdf.ltv import RevocationSpec, ltv_metadata, ocsp_refusal, revocation_context, revocation_failure
from common.pdf.model import nfc
from common.pdf.results import RenderedPdf, RevocationError, SigningError
from common.pdf.text import format_number_line

pyhanko_speedups.install()

__all__ = [
    "ImageSource",
    "RevocationError",
    "RevocationSpec",
    "SigningError",
    "TimestamperSpec",
    "add_blank_text_fields",
    "clear_signer_cache",
    "fill_and_seal",
    "fill_and_seal_async",
    "load_pkcs11_signer",
    "load_pkcs12_signer",
    "prepare_signature_fields",
    "sign_as_signer",
    "sign_as_signer_async",
]

ImageSource = Path | str | bytes | Image.Image
"""A PNG given as a path, raw bytes or a Pillow image."""

TimestamperSpec = TimeStamper | str | None
"""An RFC 3161 time-stamping authority: a pyHanko ``TimeStamper``, a TSA URL, or None (no timestamp)."""

DIGEST_ALGORITHM = "sha256"
"""The message digest of every signature made here (and of the deferred signer's signed attributes)."""

_CMS_OVERHEAD_BYTES = 2_048
"""DER bytes of a CMS blob besides its certificates: signed attributes, algorithm identifiers and a
signature value of up to 512 bytes (RSA-4096)."""
_TIMESTAMP_TOKEN_BYTES = 8_192
"""DER bytes reserved for an RFC 3161 timestamp token (a TSA's token with its chain takes 2–6 KiB)."""


def _bytes_reserved(signer: Signer, timestamper: TimeStamper | None) -> int:
    """Hex digits to reserve for the CMS blob: its certificates plus a margin, and a timestamp token.

    Reserving the right size skips pyHanko's dry-run signature, and a tight reservation keeps the
    ``/Contents`` string short: every reader of the file (pyHanko reads hex strings a character at a
    time) pays for each reserved digit, signed or not. A 16 KiB blanket reservation made filling and
    verifying the issued letter 2–3 times slower than this estimate.
    """
    certificates = [signer.signing_cert, *(signer.cert_registry or ())]
    der = sum(len(certificate.dump()) for certificate in certificates if certificate is not None)
    der += _CMS_OVERHEAD_BYTES + (_TIMESTAMP_TOKEN_BYTES if timestamper is not None else 0)
    return 2 * der


_TSA_TIMEOUT_SECONDS = 10


def _revocation_error(pdf_signer: signers.PdfSigner, exc: Exception) -> RevocationError | None:
    """The :class:`RevocationError` a pre-signing validation failure (revoked, no revocation data) means."""
    if pdf_signer.signature_meta.validation_context is None:
        return None
    reason = revocation_failure(exc)
    return RevocationError(reason) if reason else None


async def _sign_ltv(
    pdf_signer: signers.PdfSigner, writer: IncrementalPdfFileWriter, out: io.BytesIO, bytes_reserved: int
) -> None:
    """Sign, turning a pre-signing validation failure into :class:`RevocationError`."""
    try:
        await pdf_signer.async_sign_pdf(writer, output=out, bytes_reserved=bytes_reserved)
    except Exception as exc:
        if (error := _revocation_error(pdf_signer, exc)) is not None:
            raise error from exc
        raise
    certificate = pdf_signer.signature_meta.validation_context and pdf_signer.signer.signing_cert
    if certificate and (refusal := ocsp_refusal(pdf_signer.signature_meta.validation_context, certificate)):
        raise RevocationError(refusal)  # the output is the caller's buffer, which it then drops


def _signature_metadata(
    field_name: str, *, docmdp: MDPPerm, certify: bool = False, reason: str | None = None
) -> dict[str, Any]:
    """``PdfSignatureMetadata`` arguments of every signature made here: PAdES (``ETSI.CAdES.detached``),
    SHA-256, the field's DocMDP level, and the reason in NFC. The validation data of
    :func:`~common.pdf.ltv.ltv_metadata` is added inside the revocation context."""
    return {
        "field_name": field_name,
        "md_algorithm": DIGEST_ALGORITHM,
        "subfilter": SigSeedSubFilter.PADES,
        "certify": certify,
        "docmdp_permissions": docmdp,
        "reason": nfc(reason) if reason else None,
    }


async def _sign_field(
    writer: IncrementalPdfFileWriter,
    signer: Signer,
    metadata: dict[str, Any],
    *,
    image: ImageSource,
    timestamper: TimestamperSpec,
    revocation: RevocationSpec | None,
) -> bytes:
    """Apply one signature (``metadata`` of :func:`_signature_metadata`) with its stamp image, B-LT
    when ``revocation`` is given; the signed file."""
    stamper = _timestamper(timestamper)
    out = io.BytesIO()
    async with revocation_context(revocation, signer.signing_cert) as context:
        meta = signers.PdfSignatureMetadata(**metadata, **ltv_metadata(context))
        pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=stamper, stamp_style=_stamp_style(image))
        await _sign_ltv(pdf_signer, writer, out, _bytes_reserved(signer, stamper))
    return out.getvalue()


class CachedKeySigner(signers.SimpleSigner):
    """A ``SimpleSigner`` that parses its private key once instead of on every signature."""

    @functools.cached_property
    def _pyca_key(self) -> Any:
        return serialization.load_der_private_key(self.signing_key.dump(), password=None)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        """Sign ``data`` with the cached key (ECDSA or RSA PKCS#1 v1.5)."""
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        digest = get_pyca_cryptography_hash(digest_algorithm)
        key = self._pyca_key
        if mechanism == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(digest))
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), digest)
        result: bytes = super().sign_raw(data, digest_algorithm)
        return result


@functools.lru_cache(maxsize=32)
def _load_pkcs12_cached(path: str, _mtime_ns: int, passphrase: bytes | None) -> CachedKeySigner:
    loaded = signers.SimpleSigner.load_pkcs12_data(Path(path).read_bytes(), other_certs=(), passphrase=passphrase)
    return CachedKeySigner(
        signing_cert=loaded.signing_cert,
        signing_key=loaded.signing_key,
        cert_registry=loaded.cert_registry,
    )


def load_pkcs12_signer(path: Path | str, passphrase: bytes | None) -> Signer:
    """Load a signer from a PKCS#12 file; cached per (file, modification time, passphrase).

    The private key is parsed once and kept (see ``PDF.md`` §5.6: reparsing it on every signature
    costs up to 26 ms for RSA).

    Args:
        path: The ``.p12``/``.pfx`` file. Its extra certificates (the chain) are embedded in
            signatures.
        passphrase: Its passphrase, or None.

    Returns:
        A pyHanko signer.

    Raises:
        SigningError: The file cannot be read or decrypted.
    """
    resolved = Path(path).resolve()
    try:
        return _load_pkcs12_cached(str(resolved), resolved.stat().st_mtime_ns, passphrase)
    except (OSError, ValueError) as exc:
        raise SigningError(f"cannot load the PKCS#12 file {resolved.name}") from exc


_pkcs11_lock = threading.Lock()
_pkcs11_sessions: dict[tuple[str, str], Any] = {}
_pkcs11_signers: dict[tuple[str, str, str, str | None], Signer] = {}


def load_pkcs11_signer(
    lib_location: Path | str,
    *,
    token_label: str,
    user_pin: str,
    key_label: str,
    cert_label: str | None = None,
    ca_chain: tuple[asn1_x509.Certificate, ...] = (),
) -> Signer:
    """Open a PKCS#11 token (HSM, smart card, SoftHSM2) and return a signer for one of its keys.

    One logged-in session is kept per (module, token) and one signer per key until
    :func:`clear_signer_cache`. ECDSA keys are used through the raw ``CKM_ECDSA`` mechanism (the data
    is hashed in software), which every token supports.

    Args:
        lib_location: Path of the PKCS#11 module (e.g. ``/usr/lib/softhsm/libsofthsm2.so``).
        token_label: Label of the token.
        user_pin: The user PIN.
        key_label: Label of the private key.
        cert_label: Label of the certificate on the token; defaults to ``key_label``.
        ca_chain: Issuer certificates to embed when the token holds only the signer's certificate.

    Returns:
        A pyHanko signer.

    Raises:
        SigningError: The module, token, key or certificate cannot be found or opened.
    """
    from pkcs11 import PKCS11Error
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

    token_key = (str(lib_location), token_label)
    signer_key = (*token_key, key_label, cert_label)
    with _pkcs11_lock:
        cached = _pkcs11_signers.get(signer_key)
        if cached is not None:
            return cached
        session = _pkcs11_sessions.get(token_key)
        if session is None:
            try:
                session = open_pkcs11_session(
                    str(lib_location), token_criteria=TokenCriteria(label=token_label), user_pin=user_pin
                )
            except (PKCS11Error, OSError, RuntimeError) as exc:
                raise SigningError(f"cannot open the PKCS#11 token {token_label!r}") from exc
            _pkcs11_sessions[token_key] = session
        signer = PKCS11Signer(
            session,
            key_label=key_label,
            cert_label=cert_label or key_label,
            ca_chain=list(ca_chain),
            use_raw_mechanism=True,
        )
        try:
            _ = signer.signing_cert
        except Exception as exc:
            raise SigningError(f"key or certificate {key_label!r} not found on the token") from exc
        _pkcs11_signers[signer_key] = signer
        return signer


def clear_signer_cache() -> None:
    """Forget cached signers and close the cached PKCS#11 sessions."""
    _load_pkcs12_cached.cache_clear()
    with _pkcs11_lock:
        _pkcs11_signers.clear()
        for session in _pkcs11_sessions.values():
            session.close()
        _pkcs11_sessions.clear()


def _timestamper(spec: TimestamperSpec) -> TimeStamper | None:
    if spec is None or isinstance(spec, TimeStamper):
        return spec
    return HTTPTimeStamper(spec, timeout=_TSA_TIMEOUT_SECONDS)


_Number: Any = generic.NumberObject  # untyped in pyHanko


@dataclass(frozen=True)
class _EncodedImage:
    """A stamp image as PDF image XObject data, Flate-encoded once (colour samples and alpha mask)."""

    width: int
    height: int
    color_space: str
    data: bytes
    alpha: bytes | None

    def add_to(self, writer: Any) -> generic.IndirectObject:
        """Add the image XObject (and its soft mask) to ``writer``; same objects as pyHanko's ``pil_image``."""

        def xobject(color_space: str, data: bytes) -> generic.StreamObject:
            return generic.StreamObject(
                {
                    generic.pdf_name("/Type"): generic.pdf_name("/XObject"),
                    generic.pdf_name("/Subtype"): generic.pdf_name("/Image"),
                    generic.pdf_name("/Width"): _Number(self.width),
                    generic.pdf_name("/Height"): _Number(self.height),
                    generic.pdf_name("/ColorSpace"): generic.pdf_name(color_space),
                    generic.pdf_name("/BitsPerComponent"): _Number(8),
                    generic.pdf_name("/Filter"): generic.pdf_name("/FlateDecode"),
                },
                encoded_data=data,
            )

        image = xobject(self.color_space, self.data)
        if self.alpha is not None:
            image[generic.pdf_name("/SMask")] = writer.add_object(xobject("/DeviceGray", self.alpha))
        ref: generic.IndirectObject = writer.add_object(image)
        return ref


@functools.lru_cache(maxsize=16)
def _decode_image(png: bytes) -> tuple[Image.Image, _EncodedImage]:
    picture: Image.Image = Image.open(io.BytesIO(png))
    picture.load()
    alpha = None
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        picture = picture.convert("LA" if picture.mode == "LA" else "RGBA")
        alpha = zlib.compress(picture.getchannel("A").tobytes())
        samples = picture.convert(picture.mode[:-1])
    else:
        samples = picture.convert("L" if picture.mode in ("L", "1") else "RGB")
    encoded = _EncodedImage(
        width=picture.width,
        height=picture.height,
        color_space="/DeviceGray" if samples.mode == "L" else "/DeviceRGB",
        data=zlib.compress(samples.tobytes()),
        alpha=alpha,
    )
    return picture, encoded


class _PreEncodedImage(PdfImage):
    """pyHanko's ``PdfImage`` drawing an image whose XObject data was encoded once per process.

    pyHanko Flate-compresses the raw samples of a stamp image on every signature: the signature and
    the seal (640 × 320 and 400 × 400 RGBA, 1.4 MB of samples) took 13 ms per issued document.
    """

    def __init__(self, picture: Image.Image, encoded: _EncodedImage) -> None:
        super().__init__(picture, box=layout.BoxConstraints(encoded.width, encoded.height))
        self._encoded = encoded

    @property
    def image_ref(self) -> generic.IndirectObject:
        """The image XObject in the current writer (added on first use per writer)."""
        ref: Any = self._image_ref
        if ref is None or ref.get_pdf_handler() is not self.writer:
            self._image_ref = ref = self._encoded.add_to(self.writer)
        result: generic.IndirectObject = ref
        return result


def _stamp_image(image: ImageSource) -> PdfImage:
    if isinstance(image, Image.Image):
        image.load()
        return PdfImage(image)
    png = image if isinstance(image, bytes) else Path(image).read_bytes()
    try:
        picture, encoded = _decode_image(png)
    except (OSError, ValueError) as exc:
        raise SigningError("the stamp image is not a readable PNG") from exc
    return _PreEncodedImage(picture, encoded)


def _stamp_style(image: ImageSource) -> StaticStampStyle:
    return StaticStampStyle(
        background=_stamp_image(image),
        border_width=0,
        background_opacity=1.0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(),
            inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT,
        ),
    )


def _box(box: FieldBox) -> tuple[int, int, int, int]:
    return (round(box.x1), round(box.y1), round(box.x2), round(box.y2))


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    try:
        return IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except Exception as exc:
        raise SigningError("the input is not a readable PDF") from exc


def _form_fields(writer: IncrementalPdfFileWriter) -> dict[str, Any]:
    """The document's top-level form fields by name (indirect references)."""
    try:
        field_list = writer.root["/AcroForm"]["/Fields"]
    except KeyError:
        return {}
    return {str(ref.get_object().get("/T")): ref for ref in field_list}


def add_blank_text_fields(writer: IncrementalPdfFileWriter, rendered: RenderedPdf) -> None:
    """Create the empty number and date text fields of a document rendered for signing.

    Each field shows the blank line (``Số:      /VP-TTĐH``) until it is filled at issue. A field
    the document already has is left as it is.

    Args:
        writer: An incremental writer over ``rendered.pdf``.
        rendered: Output of ``render_pdf(view, for_signing=True)``.
    """
    present = _form_fields(writer)
    wanted = (
        (FIELD_NUMBER, rendered.number_box, rendered.number_placeholder, number_style),
        (FIELD_DATE, rendered.date_box, rendered.date_placeholder, date_style),
    )
    for name, box, placeholder, style in wanted:
        if box is not None and placeholder is not None and name not in present:
            add_text_field(writer, name, box, placeholder, style())
    add_annex_reference_fields(writer, rendered.annex_references, tuple(present))


def prepare_signature_fields(writer: IncrementalPdfFileWriter, rendered: RenderedPdf) -> None:
    """Add the signer's and the seal's empty signature fields to a rendered document.

    The signer's field carries a FieldMDP lock on every field except the number, the date and the
    seal's field; the seal's field locks the whole document (DocMDP "no changes") once signed.

    Args:
        writer: An incremental writer over ``rendered.pdf``.
        rendered: The rendering, for the boxes and the names of the text fields.

    Raises:
        SigningError: The document already has signature fields.
    """
    try:
        existing = {name for name, _, _ in fields.enumerate_sig_fields(writer)}
    except Exception:
        existing = set()
    if existing & {FIELD_SIGNATURE, FIELD_SEAL}:
        raise SigningError("the document already has signature fields")
    fields.append_signature_field(
        writer,
        SigFieldSpec(
            FIELD_SIGNATURE,
            on_page=rendered.signature_box.page,
            box=_box(rendered.signature_box),
            field_mdp_spec=FieldMDPSpec(FieldMDPAction.EXCLUDE, [*rendered.text_fields, FIELD_SEAL]),
        ),
    )
    fields.append_signature_field(
        writer,
        SigFieldSpec(
            FIELD_SEAL,
            on_page=rendered.seal_box.page,
            box=_box(rendered.seal_box),
            field_mdp_spec=FieldMDPSpec(FieldMDPAction.INCLUDE, []),
            doc_mdp_update_value=MDPPerm.NO_CHANGES,
        ),
    )


async def sign_as_signer_async(
    rendered: RenderedPdf,
    signer: Signer,
    *,
    signature_image: ImageSource,
    timestamper: TimestamperSpec = None,
    reason: str | None = None,
    revocation: RevocationSpec | None = None,
) -> bytes:
    """Async variant of :func:`sign_as_signer` (pyHanko's async API; safe on an event loop)."""
    writer = _writer(rendered.pdf)
    add_blank_text_fields(writer, rendered)
    prepare_signature_fields(writer, rendered)
    return await _sign_field(
        writer,
        signer,
        _signature_metadata(FIELD_SIGNATURE, certify=True, docmdp=MDPPerm.FILL_FORMS, reason=reason),
        image=signature_image,
        timestamper=timestamper,
        revocation=revocation,
    )


def sign_as_signer(
    rendered: RenderedPdf,
    signer: Signer,
    *,
    signature_image: ImageSource,
    timestamper: TimestamperSpec = None,
    reason: str | None = None,
    revocation: RevocationSpec | None = None,
) -> bytes:
    """Prepare the signature fields and apply the competent signer's certification signature.

    PAdES (``ETSI.CAdES.detached``), SHA-256, DocMDP P=2 (form filling and signing allowed), field
    lock on everything but the number, date and seal fields. B-B, or B-T with a timestamper, B-LT
    with ``revocation`` when the certificates name OCSP or CRL.

    Args:
        rendered: Output of ``render_pdf(view, for_signing=True)`` (:mod:`common.pdf.render`).
        signer: The signer's key (:func:`load_pkcs12_signer`, :func:`load_pkcs11_signer`).
        signature_image: The blue signature PNG, drawn to fit the signature box.
        timestamper: RFC 3161 TSA (URL or pyHanko ``TimeStamper``), or None.
        reason: Optional ``/Reason`` of the signature.
        revocation: Trust roots to validate against and embed OCSP/CRL data for (see :mod:`common.pdf.ltv`).

    Returns:
        The signed PDF.

    Raises:
        RevocationError: A certificate is revoked or its status cannot be fetched.
        SigningError: The document cannot be prepared.
    """
    return aio.run(
        sign_as_signer_async(
            rendered,
            signer,
            signature_image=signature_image,
            timestamper=timestamper,
            reason=reason,
            revocation=revocation,
        )
    )


def _empty_text_fields(writer: IncrementalPdfFileWriter) -> set[str]:
    return {
        name
        for name, ref in _form_fields(writer).items()
        if (field := ref.get_object()).get("/FT") == "/Tx" and not field.get("/V")
    }


def _fill(writer: IncrementalPdfFileWriter, name: str, shown: str) -> None:
    style = number_style() if name == FIELD_NUMBER else date_style()
    populate_static_text_field(writer, name, style, shown)
    # The value is what the appearance shows (``Số: 01/VP-TTĐH``), and pyHanko drops the field's
    # /DA: put it back, so that a viewer regenerating the appearance from the value draws the same
    # line in the same embedded face and size (both allowed changes when filling a form).
    ref = _form_fields(writer)[name]
    field = ref.get_object()
    field[generic.pdf_name("/V")] = generic.TextStringObject(shown)
    field[generic.pdf_name("/DA")] = generic.TextStringObject(default_appearance(name))
    writer.mark_update(ref)


async def fill_and_seal_async(
    signed_pdf: bytes,
    seal_signer: Signer,
    *,
    seal_image: ImageSource,
    number_text: str | None,
    date_text: str | None,
    timestamper: TimestamperSpec = None,
    revocation: RevocationSpec | None = None,
) -> bytes:
    """Async variant of :func:`fill_and_seal` (pyHanko's async API; safe on an event loop)."""
    writer = _writer(signed_pdf)
    empty = _empty_text_fields(writer)
    wanted = {FIELD_NUMBER: number_text, FIELD_DATE: date_text}
    for name, text in wanted.items():
        if text is not None and name not in empty:
            raise SigningError(f"the document has no empty field {name!r} to fill")
        if text is None and name in empty:
            raise SigningError(f"the field {name!r} must be filled before sealing")
    try:
        if number_text is not None:
            number_text = nfc(number_text)
            _fill(writer, FIELD_NUMBER, format_number_line(number_text, ""))
        if date_text is not None:
            _fill(writer, FIELD_DATE, nfc(date_text))
        fill_annex_references(writer, number_text, nfc(date_text) if date_text is not None else None)
    except SigningError:
        raise
    except Exception as exc:
        raise SigningError("cannot fill the number and date fields") from exc

    return await _sign_field(
        writer,
        seal_signer,
        _signature_metadata(FIELD_SEAL, docmdp=MDPPerm.NO_CHANGES),
        image=seal_image,
        timestamper=timestamper,
        revocation=revocation,
    )


def fill_and_seal(
    signed_pdf: bytes,
    seal_signer: Signer,
    *,
    seal_image: ImageSource,
    number_text: str | None,
    date_text: str | None,
    timestamper: TimestamperSpec = None,
    revocation: RevocationSpec | None = None,
) -> bytes:
    """Fill the number and date into a signer-signed document and apply the organisation's seal.

    Both happen in one incremental revision, so no numbered but unsealed file ever exists. The
    fields get their value (the whole line as shown, ``Số: 01/VP-TTĐH``), an appearance in embedded
    Liberation Serif, a ``/DA`` naming that font and the read-only flag; a
    field that is already filled is refused (a document is never numbered twice). The seal
    signature is an approval signature with DocMDP "no changes": nothing may change after it.

    Args:
        signed_pdf: Output of :func:`sign_as_signer`.
        seal_signer: The organisation's key.
        seal_image: The red seal PNG, drawn at the seal box (the seal's real size).
        number_text: Number and notation, e.g. ``"01/VP-TTĐH"`` (see
            :func:`~common.pdf.text.format_number`); shown as ``Số: 01/VP-TTĐH``. None when the
            number was printed at rendering.
        date_text: The place-and-date line, e.g. ``"Hà Nội, ngày 27 tháng 11 năm 2026"`` (see
            :func:`~common.pdf.text.format_date_line`). None when the date was printed at rendering.
        timestamper: RFC 3161 TSA (URL or pyHanko ``TimeStamper``), or None.
        revocation: Trust roots to validate against and embed OCSP/CRL data for (see
            :mod:`common.pdf.ltv`): the seal's revision then also carries the ``/DSS`` (B-LT).

    Returns:
        The sealed PDF.

    Raises:
        RevocationError: The seal's certificate is revoked or its status cannot be fetched.
        SigningError: A field is missing, already filled, or left empty.
    """
    return aio.run(
        fill_and_seal_async(
            signed_pdf,
            seal_signer,
            seal_image=seal_image,
            number_text=number_text,
            date_text=date_text,
            timestamper=timestamper,
            revocation=revocation,
        )
    )
