"""The seed letter rendered, signed, numbered and sealed, checked with independent tools.

pdftotext (poppler) for the text, pdfsig (poppler + NSS) and the ``pyhanko`` CLI for the signatures,
zbarimg for the QR codes, pdftoppm + Pillow for the images.
"""

from __future__ import annotations

import dataclasses
import difflib
import io
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader

from common.pdf.dev_pki import DevPki
from common.pdf.fields import FIELD_DATE, FIELD_NUMBER, FIELD_SEAL, FIELD_SIGNATURE
from common.pdf.signing import SigningError, fill_and_seal, sign_as_signer
from common.pdf.verify import verify_pdf
from common.testing import nss_trust_db

SEED_FILE = Path(__file__).parent / "data" / "cong-van-vpub-ttdh-2025-11.txt"
FACEBOOK_URL = "https://www.facebook.com/congthongtincantho"
ZALO_URL = "https://zalo.me/3460461954401350861"
PYHANKO_CLI = Path(sys.executable).parent / "pyhanko"
SignedLetter = Any  # conftest.SignedLetter (conftest modules are not importable)


@pytest.fixture(scope="module")
def sealed_path(signed_letter: SignedLetter, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sealed") / "cong-van-01.pdf"
    path.write_bytes(signed_letter.sealed)
    return path


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _seed_lines() -> list[str]:
    lines = []
    for raw in SEED_FILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip().strip("*").replace("<", "").replace(">", "")
        if line:
            lines.append(" ".join(line.split()))
    return lines


def _layout_pages(path: Path) -> list[list[str]]:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    return [page.splitlines() for page in out.stdout.split("\f") if page.strip()]


def _cells(line: str) -> list[tuple[int, str]]:
    """Split a -layout line into column cells (runs of text separated by 3+ spaces)."""
    return [(m.start(), m.group()) for m in re.finditer(r"\S+(?: {1,2}\S+)*", line)]


def test_pdftotext_shows_every_line_of_the_seed_letter_in_order(sealed_path: Path) -> None:
    pages = _layout_pages(sealed_path)
    assert len(pages) == 2
    # Page numbers: none on page 1, "2" alone on the first line of page 2.
    assert pages[1][0].strip() == "2"
    lines = pages[0] + pages[1][1:]

    seed = _seed_lines()
    seed = [
        "Số: 01/VPUB-TTĐH"
        if s == "Số: /VPUB-TTĐH"
        else s.replace("ngày tháng 11 năm 2025", "ngày 27 tháng 11 năm 2026")
        for s in seed
    ]
    # Header (not in the seed text): two columns, then the number and date on one line.
    split = lines[0].index("CỘNG HÒA")
    assert [c for _, c in _cells(lines[0])] == ["UBND THÀNH PHỐ CẦN THƠ", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"]
    assert [c for _, c in _cells(lines[1])] == ["VĂN PHÒNG", "Độc lập - Tự do - Hạnh phúc"]
    number_row = next(i for i, line in enumerate(lines) if "Số:" in line)
    assert [c for _, c in _cells(lines[number_row])] == [seed[0], seed[1]]

    greeting_row = next(i for i, line in enumerate(lines) if "Kính gửi:" in line)
    closing_row = next(i for i, line in enumerate(lines) if "Nơi nhận:" in line)
    assert number_row < greeting_row < closing_row

    # V/v: the left column between the number line and Kính gửi.
    left_header = " ".join(
        cell for line in lines[number_row + 1 : greeting_row] for start, cell in _cells(line) if start < split
    )
    vv_end = seed.index("Kính gửi:")
    assert _squash(" ".join(seed[2:vv_end])) == _squash(left_header)

    # Kính gửi and the body: one flow, every seed line in order.
    flow = _squash(" ".join(lines[greeting_row:closing_row]))
    position = 0
    closing_start = seed.index("Nơi nhận:")
    for line in seed[vv_end:closing_start]:
        found = flow.find(_squash(line), position)
        assert found >= 0, f"missing or out of order: {line!r}"
        position = found + len(_squash(line))

    # Closing block: Nơi nhận in the left column, the signature block in the right one.
    signature_start = seed.index("KT. CHÁNH VĂN PHÒNG")
    closing_split = lines[closing_row].index("KT. CHÁNH VĂN PHÒNG")
    left = [cell for line in lines[closing_row:] for start, cell in _cells(line) if start < closing_split - 5]
    right = [cell for line in lines[closing_row:] for start, cell in _cells(line) if start >= closing_split - 5]
    assert left[: signature_start - closing_start] == seed[closing_start:signature_start]
    assert right[:3] == seed[signature_start:] == ["KT. CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG", "Lê Xuân Hoa"]


def _reading_lines(path: Path) -> list[str]:
    """The issued letter as logical lines, in reading order (pdftotext -layout, columns split).

    The header and closing blocks are read column by column; in the body a line that starts indented
    (first-line indent, list items, headings, Kính gửi) opens a new line, and a line flush with the
    margin continues the one before, as the seed text writes a paragraph on one line.
    """
    pages = _layout_pages(path)
    rows = pages[0] + [row for page in pages[1:] for row in page[1:]]  # without the page numbers
    number_row = next(i for i, row in enumerate(rows) if "Số:" in row)
    greeting_row = next(i for i, row in enumerate(rows) if "Kính gửi:" in row)
    closing_row = next(i for i, row in enumerate(rows) if "Nơi nhận:" in row)
    split = rows[0].index("CỘNG HÒA")
    header = [(start, cell) for row in rows[:number_row] for start, cell in _cells(row)]
    lines = [cell for start, cell in header if start < split] + [cell for start, cell in header if start >= split]
    lines += [cell for _, cell in _cells(rows[number_row])]
    lines += [row.strip() for row in rows[number_row + 1 : greeting_row] if row.strip()]
    for row in rows[greeting_row:closing_row]:
        if not row.strip():
            continue
        if row.startswith("   ") or not lines:
            lines.append(row.strip())
        elif "://" in lines[-1].split()[-1] and (lines[-1][-1] in "/?&" or row.startswith(".")):
            lines[-1] += row.strip()  # a URL broken where a URL may break: no space was there
        else:
            lines[-1] += " " + row.strip()
    closing_split = rows[closing_row].index("KT.")
    closing = [(start, cell) for row in rows[closing_row:] for start, cell in _cells(row)]
    lines += [cell for start, cell in closing if start < closing_split - 5]
    lines += [cell for start, cell in closing if start >= closing_split - 5]
    return lines


def test_the_issued_letter_reads_line_for_line_as_the_original(sealed_path: Path, signed_letter: SignedLetter) -> None:
    """The seed text, line by line, with the QR order and dashes of the original; the only
    additions are the header (an image in the seed) and the verification caption."""
    seed = [
        "Số: 01/VPUB-TTĐH"
        if line == "Số: /VPUB-TTĐH"
        else line.replace("ngày tháng 11 năm 2025", "ngày 27 tháng 11 năm 2026")
        for line in _seed_lines()
    ]
    signature_start = seed.index("KT. CHÁNH VĂN PHÒNG")
    expected = [
        "UBND THÀNH PHỐ CẦN THƠ",
        "VĂN PHÒNG",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        *seed[:signature_start],
        "Kiểm tra tính xác thực của văn bản: quét mã QR hoặc truy cập địa chỉ",
        signed_letter.view.verification_url,
        *seed[signature_start:],
    ]
    actual = _reading_lines(sealed_path)
    diff = "\n".join(difflib.unified_diff(expected, actual, "original", "issued", lineterm=""))
    assert actual == expected, diff


def test_only_embedded_fonts(sealed_path: Path) -> None:
    out = subprocess.run(["pdffonts", str(sealed_path)], capture_output=True, text=True, check=True).stdout
    rows = out.splitlines()[2:]
    assert len(rows) >= 5  # four WeasyPrint faces + the faces of the filled fields
    for row in rows:
        assert "Liberation" in row.split()[0], row
        assert row.split()[-5] == "yes", row  # emb


def _qr_payloads(pdf: Path, tmp_path: Path) -> list[str]:
    subprocess.run(["pdftoppm", "-r", "150", "-gray", "-png", str(pdf), str(tmp_path / "qr")], check=True)
    payloads = []
    for png in sorted(tmp_path.glob("qr-*.png")):
        result = subprocess.run(
            ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(png)], capture_output=True, text=True
        )
        payloads += result.stdout.split()
    return payloads


def test_qr_codes_decode_with_zbar(sealed_path: Path, signed_letter: SignedLetter, tmp_path: Path) -> None:
    verification_url = signed_letter.view.verification_url
    assert verification_url
    assert sorted(_qr_payloads(sealed_path, tmp_path)) == sorted([FACEBOOK_URL, ZALO_URL, verification_url])


@pytest.fixture(scope="module")
def nss_db(dev_pki: DevPki, tmp_path_factory: pytest.TempPathFactory) -> str:
    return nss_trust_db(dev_pki.root_cert_pem, tmp_path_factory.mktemp("nssdb"))


def test_pdfsig_reports_two_valid_trusted_signatures(sealed_path: Path, nss_db: str) -> None:
    out = subprocess.run(
        ["pdfsig", "-nssdir", nss_db, str(sealed_path)], capture_output=True, text=True, check=True
    ).stdout
    assert out.count("Signature Validation: Signature is Valid.") == 2
    assert out.count("Certificate Validation: Certificate is Trusted.") == 2
    assert "Signer Certificate Common Name: Nguyễn Văn A" in out
    assert "Signer Certificate Common Name: Cơ quan thử nghiệm" in out
    assert "Total document signed" in out.split("Signature #2")[1]


def _pyhanko_validate(path: Path, root: Path, output: str) -> subprocess.CompletedProcess[str]:
    """pyhanko-cli's validation of ``path`` against ``root`` alone (no revocation check), ``output``
    naming the report's form (``--executive-summary``, ``--pretty-print``)."""
    command = [str(PYHANKO_CLI), "sign", "validate", "--trust", str(root), "--trust-replace"]
    return subprocess.run([*command, "--no-revocation-check", output, str(path)], capture_output=True, text=True)


@pytest.mark.slow
def test_pyhanko_cli_reports_two_valid_signatures(sealed_path: Path, dev_pki: DevPki) -> None:
    assert PYHANKO_CLI.exists(), "pyhanko-cli is not installed in the venv"
    result = _pyhanko_validate(sealed_path, dev_pki.root_cert_pem, "--executive-summary")
    assert result.returncode == 0, result.stdout + result.stderr
    verdicts = dict(line.split(":")[0::2] for line in result.stdout.split())
    assert verdicts == {FIELD_SIGNATURE: "VALID", FIELD_SEAL: "VALID"}

    details = _pyhanko_validate(sealed_path, dev_pki.root_cert_pem, "--pretty-print")
    assert details.returncode == 0, details.stdout + details.stderr
    assert "form filling" in details.stdout


def test_verify_pdf_reports_form_filling_then_a_covering_seal(signed_letter: SignedLetter) -> None:
    report = verify_pdf(signed_letter.sealed, [signed_letter.pki.root_certificate()])
    assert not report.altered and report.all_trusted_and_unaltered
    signer, seal = report.signatures
    assert (signer.field_name, signer.signer_common_name) == (FIELD_SIGNATURE, "Nguyễn Văn A")
    assert (seal.field_name, seal.signer_common_name) == (FIELD_SEAL, "Cơ quan thử nghiệm")
    for sig in (signer, seal):
        assert sig.intact and sig.valid and sig.trusted and sig.timestamp_present
        assert sig.signing_time is not None and sig.signing_time.tzinfo is not None
    assert signer.modification == "form_filling" and signer.coverage == "entire_revision"
    assert seal.modification == "none" and seal.covers_entire_file
    assert signer.signing_time is not None and seal.signing_time is not None
    assert signer.signing_time <= seal.signing_time


def test_fields_hold_the_number_and_date_values(signed_letter: SignedLetter) -> None:
    reader = PdfFileReader(io.BytesIO(signed_letter.sealed))
    fields = {str(ref.get_object()["/T"]): ref.get_object() for ref in reader.root["/AcroForm"]["/Fields"]}
    # The value is the line the appearance shows.
    assert str(fields[FIELD_NUMBER]["/V"]) == "Số: 01/VPUB-TTĐH"
    assert str(fields[FIELD_DATE]["/V"]) == "Cần Thơ, ngày 27 tháng 11 năm 2026"
    assert int(fields[FIELD_NUMBER]["/Ff"]) & 1 and int(fields[FIELD_DATE]["/Ff"]) & 1  # read-only
    signed_reader = PdfFileReader(io.BytesIO(signed_letter.signed))
    perms = signed_reader.root["/Perms"]["/DocMDP"].get_object()
    assert perms["/Reference"][0]["/TransformParams"]["/P"] == 2  # certification: form filling allowed


def _shown_text(path: Path, field: Any) -> str:
    """The text pdftotext finds inside a field's rectangle (what a reader sees there)."""
    page_height = 297 * 72 / 25.4
    x1, y1, x2, y2 = (float(v) for v in field["/Rect"])
    out = subprocess.run(
        [
            "pdftotext",
            "-f",
            "1",
            "-l",
            "1",
            "-x",
            str(round(x1)),
            "-y",
            str(round(page_height - y2)),
            "-W",
            str(round(x2 - x1) + 1),
            "-H",
            str(round(y2 - y1) + 1),
            str(path),
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return " ".join(out.stdout.split())


def test_fields_default_appearance_is_the_embedded_times_metric_font(
    signed_letter: SignedLetter, sealed_path: Path
) -> None:
    """A viewer that regenerates the appearance from /V and /DA draws the same line, in the same face."""
    for pdf, stage in ((signed_letter.signed, "signed"), (signed_letter.sealed, "sealed")):
        reader = PdfFileReader(io.BytesIO(pdf))
        acroform = reader.root["/AcroForm"]
        assert "Helv" not in str(acroform["/DA"]) and str(acroform["/DA"]).endswith(" Tf 0 g")
        fields = {str(ref.get_object()["/T"]): ref.get_object() for ref in acroform["/Fields"]}
        fonts = acroform["/DR"]["/Font"]
        for name, size, face in ((FIELD_NUMBER, 13, "Regular"), (FIELD_DATE, 14, "Italic")):
            font_name, font_size, operator, *_ = str(fields[name]["/DA"]).split()
            assert (font_size, operator) == (str(size), "Tf"), stage
            font = fonts[font_name]
            assert "LiberationSerif" in str(font["/BaseFont"]), stage
            assert ("Italic" in str(font["/BaseFont"])) == (face == "Italic"), stage
            descriptor = font["/DescendantFonts"][0]["/FontDescriptor"]
            assert "/FontFile2" in descriptor, stage  # embedded
            assert "/ToUnicode" in font
    sealed = PdfFileReader(io.BytesIO(signed_letter.sealed))
    fields = {str(ref.get_object()["/T"]): ref.get_object() for ref in sealed.root["/AcroForm"]["/Fields"]}
    for name in (FIELD_NUMBER, FIELD_DATE):
        assert _shown_text(sealed_path, fields[name]) == str(fields[name]["/V"])  # value == appearance


def test_signature_and_seal_images_are_placed_as_decreed(signed_letter: SignedLetter, tmp_path: Path) -> None:
    dpi = 100
    box, seal = signed_letter.rendered.signature_box, signed_letter.rendered.seal_box
    page = box.page + 1
    png = tmp_path / "page"
    sealed = tmp_path / "sealed.pdf"
    sealed.write_bytes(signed_letter.sealed)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", "-f", str(page), "-l", str(page), "-singlefile", str(sealed), str(png)],
        check=True,
    )
    with Image.open(f"{png}.png") as image:
        rgb = image.convert("RGB")
        height = rgb.height
        blue = [(x, y) for (x, y) in _pixels(rgb) if _is_blue(rgb.getpixel((x, y)))]
        red = [(x, y) for (x, y) in _pixels(rgb) if _is_red(rgb.getpixel((x, y)))]
    scale = dpi / 72
    assert len(blue) > 500 and len(red) > 500

    def bbox(points: list[tuple[int, int]]) -> tuple[float, float, float, float]:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return min(xs) / scale, (height - max(ys)) / scale, max(xs) / scale, (height - min(ys)) / scale

    bx1, by1, bx2, by2 = bbox(blue)
    rx1, ry1, rx2, ry2 = bbox(red)
    # The blue signature lies inside its box (between the title and the name).
    assert box.x1 - 2 <= bx1 and bx2 <= box.x2 + 2 and box.y1 - 2 <= by1 and by2 <= box.y2 + 2
    # The red seal fills its box (real size, 34 mm) and covers the left third of the signature.
    assert rx1 == pytest.approx(seal.x1, abs=3) and rx2 == pytest.approx(seal.x2, abs=3)
    assert (ry2 - ry1) == pytest.approx(34 * 72 / 25.4, abs=4)
    assert bx1 < rx2 < bx1 + (bx2 - bx1) / 2


def _pixels(image: Image.Image) -> Iterator[tuple[int, int]]:
    for y in range(image.height):
        for x in range(image.width):
            yield x, y


def _is_blue(pixel: tuple[int, int, int]) -> bool:
    r, g, b = pixel
    return b > 120 and b - r > 60 and b - g > 40


def _is_red(pixel: tuple[int, int, int]) -> bool:
    r, g, b = pixel
    return r > 150 and r - g > 80 and r - b > 60


def test_only_the_signers_pdf_has_blank_number_and_date(signed_letter: SignedLetter, tmp_path: Path) -> None:
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(signed_letter.signed)
    text = subprocess.run(["pdftotext", "-layout", str(signed), "-"], capture_output=True, text=True, check=True).stdout
    first = next(line for line in text.splitlines() if "Số:" in line)
    assert re.search(r"Số:\s+/VPUB-TTĐH\s+Cần Thơ, ngày\s+tháng 11 năm 2025", first)
    report = verify_pdf(signed_letter.signed, [signed_letter.pki.root_certificate()])
    assert [s.field_name for s in report.signatures] == [FIELD_SIGNATURE]
    assert report.signatures[0].covers_entire_file and not report.altered


def test_filling_twice_or_leaving_blanks_is_refused(signed_letter: SignedLetter) -> None:
    seal = signed_letter.pki.load_seal()
    with pytest.raises(SigningError, match="doc_number"):
        fill_and_seal(
            signed_letter.sealed,
            seal,
            seal_image=signed_letter.pki.seal_png,
            number_text="02/VPUB-TTĐH",
            date_text="Cần Thơ, ngày 28 tháng 11 năm 2026",
        )
    with pytest.raises(SigningError, match="issue_date"):
        fill_and_seal(
            signed_letter.signed,
            seal,
            seal_image=signed_letter.pki.seal_png,
            number_text="02/VPUB-TTĐH",
            date_text=None,
        )
    with pytest.raises(SigningError, match="already has signature fields"):
        sign_as_signer(
            dataclasses.replace(signed_letter.rendered, pdf=signed_letter.signed),
            signed_letter.pki.load_signer(),
            signature_image=signed_letter.pki.signature_png,
        )


def test_a_flipped_byte_in_the_signed_range_is_reported(
    signed_letter: SignedLetter, byte_flipped_letter: bytes
) -> None:
    report = verify_pdf(byte_flipped_letter, [signed_letter.pki.root_certificate()])
    assert report.altered
    assert not any(sig.intact for sig in report.signatures)


def test_an_incremental_update_that_changes_text_is_reported(
    signed_letter: SignedLetter, text_changed_letter: bytes
) -> None:
    tampered = text_changed_letter  # "UBND" becomes "VBND" on page 1
    report = verify_pdf(tampered, [signed_letter.pki.root_certificate()])
    assert report.altered
    assert all(sig.intact and sig.valid and sig.trusted for sig in report.signatures)
    assert {sig.modification for sig in report.signatures} == {"other"}
    # The change is real: poppler now reads the altered header.
    text = subprocess.run(["pdftotext", "-l", "1", "-", "-"], input=tampered, capture_output=True, check=True).stdout
    assert "VBND THÀNH PHỐ CẦN THƠ" in text.decode()


@pytest.fixture
def loopback_tsa(dev_pki: DevPki) -> Iterator[str]:
    """An RFC 3161 TSA over HTTP on 127.0.0.1, answering with the development TSA certificate."""
    from asn1crypto import tsp

    dummy = dev_pki.timestamper()
    requests: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            assert self.headers["Content-Type"] == "application/timestamp-query"
            response = dummy.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            requests.append(len(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(response)))
            self.end_headers()
            self.wfile.write(response)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert requests, "the TSA was never asked"


def test_timestamper_given_as_a_url(signed_letter: SignedLetter, loopback_tsa: str) -> None:
    signed = sign_as_signer(
        signed_letter.rendered,
        signed_letter.pki.load_signer(),
        signature_image=signed_letter.pki.signature_png,
        timestamper=loopback_tsa,
    )
    (sig,) = verify_pdf(signed, [signed_letter.pki.root_certificate()]).signatures
    assert sig.timestamp_present and sig.intact and sig.valid and sig.trusted
