"""Bounded fuzzing of the PDF verifier with mutations of a real signed PDF made through the API.

``common.pdf.verify.verify_pdf`` must, for any input, either return a report or raise
``PdfVerificationError`` — nothing else — within a time bound. And tampering is never missed: a
changed byte inside a signature's byte range never comes out as an intact, valid signature set.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from directive_testing import Actors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from security_testing import LOG, SyncApi, letter_to

from common.pdf.verify import PdfVerificationError, VerificationReport, verify_pdf
from common.testing import scaled

CASE_SECONDS = 5.0
EXAMPLES = 200
BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def _issued_pdf(api: SyncApi, actors: Actors) -> bytes:
    response = api.request("POST", "/v1/directives", json=letter_to(), headers=actors.drafter)
    assert response.status_code == 201, response.text
    doc: dict[str, Any] = response.json()
    for action, who in (("submit", actors.drafter), ("approve", actors.signer), ("issue", actors.clerk)):
        response = api.request("POST", f"/v1/directives/{doc['id']}/{action}", headers={**who, "If-Match": doc["etag"]})
        assert response.status_code == 200, response.text
        doc = response.json()
    response = api.request("GET", f"/v1/directives/{doc['id']}/pdf", headers=actors.clerk)
    assert response.status_code == 200 and response.headers["x-document-file-kind"] == "issued"
    return response.content


def _covered(pdf: bytes) -> list[range]:
    """Byte ranges the signatures cover (with each /Contents hole left out)."""
    ranges: list[range] = []
    for match in BYTE_RANGE.finditer(pdf):
        a, b, c, d = (int(x) for x in match.groups())
        ranges += [range(a, a + b), range(c, c + d)]
    return ranges


def _mutations(pdf: bytes) -> st.SearchStrategy[tuple[str, bytes, int | None]]:
    size = len(pdf)
    offsets = st.integers(0, size - 1)

    def flip(args: tuple[int, int]) -> tuple[str, bytes, int | None]:
        offset, bit = args
        data = bytearray(pdf)
        data[offset] ^= 1 << bit
        return "flip", bytes(data), offset

    def truncate(n: int) -> tuple[str, bytes, int | None]:
        return "truncate", pdf[:n], None

    def insert(args: tuple[int, bytes]) -> tuple[str, bytes, int | None]:
        offset, chunk = args
        return "insert", pdf[:offset] + chunk + pdf[offset:], offset

    def overwrite(args: tuple[int, bytes]) -> tuple[str, bytes, int | None]:
        offset, chunk = args
        return "overwrite", pdf[:offset] + chunk + pdf[offset + len(chunk) :], offset

    def splice(args: tuple[int, int, int]) -> tuple[str, bytes, int | None]:
        start, length, to = args
        chunk = pdf[start : start + length]
        return "splice", pdf[:to] + chunk + pdf[to:], to

    def digits(args: tuple[int, int]) -> tuple[str, bytes, int | None]:
        index, value = args
        numbers = list(re.finditer(rb"\d+", pdf))
        match = numbers[index % len(numbers)]
        return "number", pdf[: match.start()] + str(value).encode() + pdf[match.end() :], match.start()

    tokens = st.sampled_from(
        [
            b"endobj",
            b"stream",
            b"endstream",
            b"xref",
            b"trailer",
            b"startxref",
            b"%%EOF",
            b"<<",
            b">>",
            b"(",
            b"[",
            b"/",
        ]
    )
    return st.one_of(
        st.tuples(offsets, st.integers(0, 7)).map(flip),
        st.integers(0, size).map(truncate),
        st.tuples(offsets, st.one_of(tokens, st.binary(min_size=1, max_size=64))).map(insert),
        st.tuples(offsets, st.one_of(tokens, st.binary(min_size=1, max_size=16))).map(overwrite),
        st.tuples(offsets, st.integers(1, 4096), offsets).map(splice),
        st.tuples(st.integers(0, 10_000), st.sampled_from([0, -1, 2**31, 2**63, 10**30, size, size + 1])).map(digits),
    )


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_verifier_survives_mutations(sync_api: SyncApi, actors: Actors) -> None:
    pdf = _issued_pdf(sync_api, actors)
    roots = sync_api.app.state.pdf.keys.trust_roots()
    clean = verify_pdf(pdf, roots)
    assert len(clean.signatures) == 2 and not clean.altered
    assert all(s.intact and s.valid and s.trusted for s in clean.signatures)
    covered = _covered(pdf)
    assert covered, "no /ByteRange in the issued PDF"
    outcomes = {"report": 0, "refused": 0, "tamper_noticed": 0}
    slowest = 0.0

    @given(mutation=_mutations(pdf))
    @settings(
        max_examples=scaled(EXAMPLES),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(mutation: tuple[str, bytes, int | None]) -> None:
        nonlocal slowest
        kind, data, offset = mutation
        started = time.monotonic()
        try:
            report: VerificationReport | None = verify_pdf(data, roots)
        except PdfVerificationError:
            report = None
        elapsed = time.monotonic() - started
        slowest = max(slowest, elapsed)
        assert elapsed < CASE_SECONDS, (kind, offset, elapsed)
        if report is None:
            outcomes["refused"] += 1
            return
        outcomes["report"] += 1
        if kind == "flip" and offset is not None and any(offset in r for r in covered) and data != pdf:
            clean_claim = len(report.signatures) == 2 and all(s.intact and s.valid for s in report.signatures)
            assert not clean_claim, f"a flipped byte at {offset} inside the signed range went unnoticed"
            outcomes["tamper_noticed"] += 1

    run()
    LOG.info(f"verifier fuzz: {EXAMPLES} examples, outcomes {outcomes}, slowest {slowest:.2f}s")
    assert outcomes["report"] + outcomes["refused"] >= EXAMPLES // 2
