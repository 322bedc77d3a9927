"""XML-DSig of edXML packages: what is signed verifies (here and with xmlsec1), what is not, is refused."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from common.edxml import build_document_package, build_status_package, parse_document_package, parse_status_package
from common.edxml.signature import EdxmlSignatureError, SigningKey, sign_package, verify_package
from common.pdf.dev_pki import DevPki, ensure_dev_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return ensure_dev_pki(tmp_path_factory.mktemp("pki"))


def _seal(pki: DevPki) -> tuple[SigningKey, list[x509.Certificate]]:
    key, certificate, chain = pkcs12.load_key_and_certificates(pki.seal_p12.read_bytes(), pki.passphrase)
    assert certificate is not None
    return key, [certificate, *chain]  # type: ignore[return-value]


@pytest.mark.parametrize("sample", ["edoc_new.edxml", "status_inbox_01.edxml"])
def test_a_signed_package_verifies_here_and_with_xmlsec1_and_still_parses(
    pki: DevPki, read_sample: Callable[[str], bytes], tmp_path: Path, sample: str
) -> None:
    raw = read_sample(sample)
    if sample.startswith("edoc"):
        data = build_document_package(parse_document_package(raw))
    else:
        data = build_status_package(parse_status_package(raw))
    key, chain = _seal(pki)
    signed = sign_package(data, key, chain)
    verify_package(signed, certificate=chain[0])
    assert sign_package(signed, key, chain).count(b"SignatureValue>") == 2  # re-signing replaces, not adds
    path = tmp_path / sample
    path.write_bytes(signed)
    checked = subprocess.run(
        ["xmlsec1", "--verify", "--trusted-pem", str(pki.root_cert_pem), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    if sample.startswith("edoc"):
        package = parse_document_package(signed)
        assert package.signature is not None
        assert package.attachments[0].content == parse_document_package(data).attachments[0].content
    else:
        assert parse_status_package(signed).status_code == "01"


def test_missing_tampered_and_foreign_signatures_are_refused(
    pki: DevPki, read_sample: Callable[[str], bytes], tmp_path: Path
) -> None:
    data = build_status_package(parse_status_package(read_sample("status_acceptance_03.edxml")))
    key, chain = _seal(pki)
    with pytest.raises(EdxmlSignatureError, match="not signed"):
        verify_package(data, certificate=chain[0])
    signed = sign_package(data, key, chain)
    code = b"<edXML:StatusCode>03</edXML:StatusCode>"
    assert code in signed
    with pytest.raises(EdxmlSignatureError, match="does not verify"):
        verify_package(signed.replace(code, code.replace(b"03", b"06")), certificate=chain[0])
    other = ensure_dev_pki(tmp_path / "other")
    _other_key, other_chain = _seal(other)
    with pytest.raises(EdxmlSignatureError, match="does not verify"):
        verify_package(signed, certificate=other_chain[0])
    twice = signed.replace(b"</edXML:edXMLHeader>", _signature_of(signed) + b"</edXML:edXMLHeader>", 1)
    with pytest.raises(EdxmlSignatureError, match="more than one"):
        verify_package(twice, certificate=chain[0])


def _signature_of(signed: bytes) -> bytes:
    start = signed.index(b"<ds:Signature")
    end = signed.index(b"</ds:Signature>") + len(b"</ds:Signature>")
    return signed[start:end]
