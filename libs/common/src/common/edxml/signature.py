"""XML-DSig enveloped signatures of edXML packages (signxml; c14n and digests are not hand-written).

The signature goes where the vendor samples put it, at the end of ``edXMLHeader``, and covers the
whole document (``Reference URI=""`` with the enveloped-signature transform), attachments included.
``KeyInfo`` carries the signing certificate and its chain, so an independent verifier (``xmlsec1
--verify --trusted-pem root.pem``) checks it with the root alone.

Typical use::

    signed = sign_package(data, key, [certificate, *chain])
    verify_package(signed, certificate=partner_certificate)  # raises EdxmlSignatureError
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree

from common.edxml.errors import EdxmlError, EdxmlErrorCode
from common.edxml.models import EDXML_NAMESPACE
from common.edxml.safexml import DEFAULT_LIMITS, ParseLimits

if TYPE_CHECKING:
    from signxml.algorithms import SignatureMethod

# signxml (some 13 MB resident) is imported where a package is signed or verified: a web process that
# never exchanges edXML does not hold it.

DSIG_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
"""Inclusive c14n 1.0 for SignedInfo and the reference, as in the vendor samples."""

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class EdxmlSignatureError(EdxmlError):
    """The package's signature is missing, malformed, or does not verify with the expected key."""

    def __init__(self, message: str) -> None:
        super().__init__(EdxmlErrorCode.INVALID_SIGNATURE, message)


def _parser(limits: ParseLimits) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=limits.max_bytes > 10_000_000
    )


def _method(key: SigningKey) -> SignatureMethod:
    from signxml.algorithms import SignatureMethod

    if isinstance(key, rsa.RSAPrivateKey):
        return SignatureMethod.RSA_SHA256
    return SignatureMethod.ECDSA_SHA256


def sign_package(
    data: bytes,
    key: SigningKey,
    certificates: Sequence[x509.Certificate],
    *,
    limits: ParseLimits = DEFAULT_LIMITS,
) -> bytes:
    """Sign an edXML package (as built by :mod:`common.edxml.builder`) with an enveloped signature.

    Args:
        data: The package bytes; a ``Signature`` already in ``edXMLHeader`` is replaced.
        key: The organisation's private key (RSA or EC).
        certificates: The key's certificate first, then its chain (without the root is fine).
        limits: Size limits of the parse.

    Returns:
        The signed package, UTF-8 with an XML declaration.

    Raises:
        EdxmlError: ``invalid_package`` when the bytes are not an edXML package with a header.
    """
    from signxml.algorithms import DigestAlgorithm
    from signxml.signer import XMLSigner

    if not certificates:
        raise EdxmlSignatureError("signing needs the key's certificate")
    root = etree.fromstring(data, parser=_parser(limits))
    header = root.find(f"{{{EDXML_NAMESPACE}}}edXMLEnvelope/{{{EDXML_NAMESPACE}}}edXMLHeader")
    if header is None:
        header = root.find(f"{{{EDXML_NAMESPACE}}}edXMLHeader")  # status packages have no envelope
    if header is None:
        raise EdxmlSignatureError("the package has no edXMLHeader to carry the signature")
    for old in [c for c in header if etree.QName(c).localname == "Signature"]:
        header.remove(old)
    etree.SubElement(header, f"{{{DSIG_NAMESPACE}}}Signature", Id="placeholder", nsmap={"ds": DSIG_NAMESPACE})
    signer = XMLSigner(
        signature_algorithm=_method(key),
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=C14N,
    )
    signer.namespaces = {"ds": DSIG_NAMESPACE}
    signed = signer.sign(root, key=key, cert=list(certificates))
    body: bytes = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    return body


def has_signature(data: bytes, *, limits: ParseLimits = DEFAULT_LIMITS) -> bool:
    """Whether the package carries an XML-DSig ``Signature`` element (valid or not)."""
    root = etree.fromstring(data, parser=_parser(limits))
    return root.find(f".//{{{DSIG_NAMESPACE}}}Signature") is not None


def verify_package(data: bytes, *, certificate: x509.Certificate, limits: ParseLimits = DEFAULT_LIMITS) -> None:
    """Check that the package is signed, whole, by the key of ``certificate`` (the partner's).

    Args:
        data: The package as received.
        certificate: The certificate the partner signs with (pinned: no chain building).
        limits: Size limits of the parse.

    Raises:
        EdxmlSignatureError: No signature, a signature over less than the whole package, or one that
            does not verify with that key.
    """
    from signxml.exceptions import InvalidInput, InvalidSignature
    from signxml.verifier import SignatureConfiguration, XMLVerifier

    root = etree.fromstring(data, parser=_parser(limits))
    signatures = root.findall(f".//{{{DSIG_NAMESPACE}}}Signature")
    if not signatures:
        raise EdxmlSignatureError("the package is not signed")
    if len(signatures) > 1:
        raise EdxmlSignatureError("the package carries more than one signature")
    try:
        # The partner's certificate is pinned: the certificates in KeyInfo are not trusted for anything.
        result = XMLVerifier().verify(
            root,
            x509_cert=certificate,
            parser=_parser(limits),
            expect_config=SignatureConfiguration(expect_references=1, ignore_ambiguous_key_info=True),
        )
    except (InvalidSignature, InvalidInput) as exc:
        raise EdxmlSignatureError(f"the signature does not verify: {exc}") from None
    # The one reference must be the whole document (URI=""), not an element picked out of it.
    reference = result if not isinstance(result, list) else result[0]
    if reference.signed_xml is None or etree.QName(reference.signed_xml).localname != etree.QName(root).localname:
        raise EdxmlSignatureError("the signature does not cover the whole package")
