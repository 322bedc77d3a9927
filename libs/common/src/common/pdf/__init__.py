"""Domain-free PDF toolkit for Decree 30/2020/NĐ-CP administrative documents.

Modules (import the one you need; rendering and signing pull in WeasyPrint and pyHanko):

- :mod:`common.pdf.model`: the frozen view-model (:class:`DocumentView` and its blocks).
- :mod:`common.pdf.text`: number and date line formats (zero padding rules).
- :mod:`common.pdf.render`: ``render_pdf(view) -> RenderedPdf`` (pure, CPU-bound) and
  ``await render_pdf_async(view, executor=None)`` (process pool).
- :mod:`common.pdf.signing`: ``sign_as_signer`` (certification, blue signature image) and
  ``fill_and_seal`` (number, date, red seal, lock); PKCS#12 and PKCS#11 key loading.
- :mod:`common.pdf.verify`: ``verify_pdf(pdf_bytes, trust_roots) -> VerificationReport``.
- :mod:`common.pdf.dev_pki`: ``ensure_dev_pki(directory) -> DevPki`` for development and tests.
- :mod:`common.pdf.fields`, :mod:`common.pdf.fonts`, :mod:`common.pdf.qr`: building blocks.
"""

from common.pdf.model import (
    BodyBlock,
    DocumentView,
    Heading,
    ListItem,
    Paragraph,
    QrBlock,
    SecrecyLevel,
    SignatureBlock,
    UrgencyLevel,
)

__all__ = [
    "BodyBlock",
    "DocumentView",
    "Heading",
    "ListItem",
    "Paragraph",
    "QrBlock",
    "SecrecyLevel",
    "SignatureBlock",
    "UrgencyLevel",
]
