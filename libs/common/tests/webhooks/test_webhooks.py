"""Tests for common.webhooks: signatures, SSRF guard, delivery and back-off."""

from __future__ import annotations

import base64
import random
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import aiohttp
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as ReferenceVerificationError

from common.webhooks import (
    CheckedUrl,
    InvalidWebhookSecretError,
    UnsafeUrlError,
    VerifiedWebhook,
    WebhookVerificationError,
    backoff_delay,
    check_webhook_url,
    deliver,
    generate_secret,
    sign,
    signature_headers,
    verify,
)

# Test vector of the Standard Webhooks specification / reference libraries.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

OLD_SECRET = generate_secret()
NEW_SECRET = generate_secret()
BODY = '{"type":"directive.issued","data":{"so_ky_hieu":"123/UBND-VP","trich_yeu":"Về việc theo dõi"}}'.encode()
NOW = 1_780_000_000


def _headers(secret: str | list[str] = NEW_SECRET, *, ts: int = NOW, msg_id: str = "msg_1") -> dict[str, str]:
    return signature_headers(secret, msg_id, BODY, timestamp=ts)


# --- signing -----------------------------------------------------------------------------------


def test_sign_matches_the_specification_test_vector() -> None:
    assert sign(SPEC_SECRET, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    reference = Webhook(SPEC_SECRET).sign(
        SPEC_MSG_ID, datetime.fromtimestamp(SPEC_TIMESTAMP, tz=UTC), SPEC_BODY.decode()
    )
    assert reference == SPEC_SIGNATURE


def test_signature_headers_shape() -> None:
    headers = signature_headers(SPEC_SECRET, SPEC_MSG_ID, SPEC_BODY, timestamp=SPEC_TIMESTAMP)
    assert headers == {
        "webhook-id": SPEC_MSG_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }


def test_signature_headers_default_timestamp_is_now() -> None:
    before = int(time.time())
    headers = signature_headers(NEW_SECRET, "msg_1", BODY)
    assert before <= int(headers["webhook-timestamp"]) <= int(time.time())


def test_generate_secret_format() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert len(base64.b64decode(generate_secret(24).removeprefix("whsec_"))) == 24
    assert len(base64.b64decode(generate_secret(64).removeprefix("whsec_"))) == 64
    assert generate_secret() != generate_secret()
    # The reference library accepts our secrets.
    Webhook(secret)


@pytest.mark.parametrize("nbytes", [0, 16, 23, 65])
def test_generate_secret_rejects_weak_or_odd_sizes(nbytes: int) -> None:
    with pytest.raises(ValueError, match="between 24 and 64"):
        generate_secret(nbytes)


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with 'whsec_'"),
        ("whsec_not base64!", "not valid base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "24..64 bytes"),
        ("whsec_", "24..64 bytes"),
    ],
)
def test_malformed_secrets_are_rejected(secret: str, message: str) -> None:
    with pytest.raises(InvalidWebhookSecretError, match=message):
        sign(secret, "msg_1", NOW, BODY)
    with pytest.raises(InvalidWebhookSecretError, match=message):
        verify(secret, _headers(), BODY, now=NOW)


def test_unpadded_secret_is_accepted() -> None:
    key = b"k" * 25  # base64 of 25 bytes ends with padding
    padded = "whsec_" + base64.b64encode(key).decode()
    unpadded = padded.rstrip("=")
    assert unpadded != padded
    assert sign(unpadded, "msg_1", NOW, BODY) == sign(padded, "msg_1", NOW, BODY)


def test_no_secret_at_all_is_a_configuration_error() -> None:
    with pytest.raises(InvalidWebhookSecretError, match="at least one"):
        verify([], _headers(), BODY, now=NOW)
    with pytest.raises(InvalidWebhookSecretError, match="at least one"):
        signature_headers([], "msg_1", BODY)


@pytest.mark.parametrize("msg_id", ["", "msg 1", "msg\r\nx-evil: 1", "msg\t1"])
def test_sign_rejects_bad_message_ids(msg_id: str) -> None:
    with pytest.raises(ValueError, match="msg_id"):
        sign(NEW_SECRET, msg_id, NOW, BODY)


def test_sign_rejects_negative_timestamp() -> None:
    with pytest.raises(ValueError, match="timestamp"):
        sign(NEW_SECRET, "msg_1", -1, BODY)


# --- verification ------------------------------------------------------------------------------


def test_verify_accepts_a_valid_message() -> None:
    assert verify(NEW_SECRET, _headers(), BODY, now=NOW) == VerifiedWebhook(msg_id="msg_1", timestamp=NOW)


def test_verify_spec_vector() -> None:
    headers = {
        "webhook-id": SPEC_MSG_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    assert verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP).msg_id == SPEC_MSG_ID


def test_verify_rejects_a_tampered_body() -> None:
    tampered = BODY.replace(b"123/UBND-VP", b"124/UBND-VP")
    with pytest.raises(WebhookVerificationError) as info:
        verify(NEW_SECRET, _headers(), tampered, now=NOW)
    assert info.value.reason == "no_matching_signature"


def test_verify_rejects_a_reserialised_body() -> None:
    # Verification is over the raw bytes: re-serialising the JSON breaks it.
    with pytest.raises(WebhookVerificationError):
        verify(NEW_SECRET, _headers(), BODY.replace(b'":', b'": '), now=NOW)


def test_verify_rejects_a_wrong_secret() -> None:
    with pytest.raises(WebhookVerificationError) as info:
        verify(OLD_SECRET, _headers(NEW_SECRET), BODY, now=NOW)
    assert info.value.reason == "no_matching_signature"


def test_verify_rejects_a_changed_message_id_or_timestamp() -> None:
    headers = _headers()
    with pytest.raises(WebhookVerificationError, match="no matching"):
        verify(NEW_SECRET, {**headers, "webhook-id": "msg_2"}, BODY, now=NOW)
    with pytest.raises(WebhookVerificationError, match="no matching"):
        verify(NEW_SECRET, {**headers, "webhook-timestamp": str(NOW + 1)}, BODY, now=NOW)


def test_tolerance_boundaries() -> None:
    headers = _headers(ts=NOW)
    assert verify(NEW_SECRET, headers, BODY, now=NOW + 300).timestamp == NOW
    assert verify(NEW_SECRET, headers, BODY, now=NOW - 300).timestamp == NOW
    with pytest.raises(WebhookVerificationError) as old:
        verify(NEW_SECRET, headers, BODY, now=NOW + 301)
    assert old.value.reason == "timestamp_too_old"
    with pytest.raises(WebhookVerificationError) as future:
        verify(NEW_SECRET, headers, BODY, now=NOW - 301)
    assert future.value.reason == "timestamp_too_new"
    # A custom tolerance.
    assert verify(NEW_SECRET, headers, BODY, now=NOW + 3000, tolerance_seconds=3600).msg_id == "msg_1"
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(NEW_SECRET, headers, BODY, now=NOW + 11, tolerance_seconds=10)


def test_old_timestamp_fails_even_with_a_valid_signature_now_is_real_time() -> None:
    headers = _headers(ts=int(time.time()) - 3600)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(NEW_SECRET, headers, BODY)
    assert verify(NEW_SECRET, _headers(ts=int(time.time())), BODY).msg_id == "msg_1"


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers(missing: str) -> None:
    headers = _headers()
    del headers[missing]
    with pytest.raises(WebhookVerificationError) as info:
        verify(NEW_SECRET, headers, BODY, now=NOW)
    assert info.value.reason == "missing_headers"


@pytest.mark.parametrize("value", ["abc", "1.5e9", "-1780000000", "1780000000.5", "0x6a1", "9" * 20])
def test_malformed_timestamps(value: str) -> None:
    with pytest.raises(WebhookVerificationError) as info:
        verify(NEW_SECRET, {**_headers(), "webhook-timestamp": value}, BODY, now=NOW)
    assert info.value.reason == "invalid_timestamp"


def test_header_names_are_case_insensitive() -> None:
    upper = {k.title(): v for k, v in _headers().items()}
    assert "Webhook-Signature" in upper
    assert verify(NEW_SECRET, upper, BODY, now=NOW).msg_id == "msg_1"
    assert verify(NEW_SECRET, httpx.Headers(upper), BODY, now=NOW).msg_id == "msg_1"


def test_several_signatures_in_one_header() -> None:
    good = sign(NEW_SECRET, "msg_1", NOW, BODY)
    other = sign(OLD_SECRET, "msg_1", NOW, BODY)
    garbage = "v1,!!!notbase64 v1 nocomma v1a,ZmFrZQ== v2," + base64.b64encode(b"x" * 32).decode()
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(NOW)}
    for signature in (f"{other} {good}", f"{garbage} {good}", f"  {good}  {other} ", f"{good} {garbage}"):
        assert verify(NEW_SECRET, {**headers, "webhook-signature": signature}, BODY, now=NOW).msg_id == "msg_1"
    with pytest.raises(WebhookVerificationError):
        verify(NEW_SECRET, {**headers, "webhook-signature": f"{other} {garbage}"}, BODY, now=NOW)
    # A v1a (asymmetric) entry holding the right HMAC bytes is not accepted as v1.
    wrong_version = "v1a," + good.split(",", 1)[1]
    with pytest.raises(WebhookVerificationError):
        verify(NEW_SECRET, {**headers, "webhook-signature": wrong_version}, BODY, now=NOW)


def test_rotation() -> None:
    """During rotation the sender signs with both keys; receivers accept either key."""
    both = _headers([NEW_SECRET, OLD_SECRET])
    assert len(both["webhook-signature"].split(" ")) == 2
    # A receiver that knows only one of the keys accepts.
    assert verify(OLD_SECRET, both, BODY, now=NOW).msg_id == "msg_1"
    assert verify(NEW_SECRET, both, BODY, now=NOW).msg_id == "msg_1"
    # A receiver with both active secrets accepts messages signed with either one only.
    active = [NEW_SECRET, OLD_SECRET]
    assert verify(active, _headers(OLD_SECRET), BODY, now=NOW).msg_id == "msg_1"
    assert verify(active, _headers(NEW_SECRET), BODY, now=NOW).msg_id == "msg_1"
    assert verify(iter(active), _headers(NEW_SECRET), BODY, now=NOW).msg_id == "msg_1"
    # After retiring the old key, messages signed only with it fail.
    with pytest.raises(WebhookVerificationError):
        verify([NEW_SECRET], _headers(OLD_SECRET), BODY, now=NOW)


def test_non_utf8_body_is_signed_as_bytes() -> None:
    body = bytes(range(256))
    headers = signature_headers(NEW_SECRET, "msg_bin", body, timestamp=NOW)
    assert verify(NEW_SECRET, headers, body, now=NOW).msg_id == "msg_bin"


@settings(max_examples=100, deadline=None)
@given(
    body=st.binary(max_size=512),
    msg_id=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40),
    ts=st.integers(min_value=0, max_value=2**33),
    flip=st.integers(min_value=0, max_value=10_000),
)
def test_roundtrip_and_any_single_bit_flip_fails(body: bytes, msg_id: str, ts: int, flip: int) -> None:
    headers = signature_headers(SPEC_SECRET, msg_id, body, timestamp=ts)
    assert verify(SPEC_SECRET, headers, body, now=ts) == VerifiedWebhook(msg_id, ts)
    if body:
        index = flip % len(body)
        tampered = body[:index] + bytes([body[index] ^ (1 << (flip % 8))]) + body[index + 1 :]
        with pytest.raises(WebhookVerificationError):
            verify(SPEC_SECRET, headers, tampered, now=ts)


# --- interoperability with the reference library (standardwebhooks) ---------------------------


def test_reference_library_verifies_our_messages() -> None:
    headers = signature_headers(NEW_SECRET, "msg_interop", BODY)  # current time: the reference uses now
    assert Webhook(NEW_SECRET).verify(BODY, headers) == {
        "type": "directive.issued",
        "data": {"so_ky_hieu": "123/UBND-VP", "trich_yeu": "Về việc theo dõi"},
    }
    # Rotation headers: the reference library accepts them with either key alone.
    rotated = signature_headers([NEW_SECRET, OLD_SECRET], "msg_interop", BODY)
    Webhook(NEW_SECRET).verify(BODY, rotated, json_parse=False)
    Webhook(OLD_SECRET).verify(BODY, rotated, json_parse=False)
    # And rejects what it should.
    with pytest.raises(ReferenceVerificationError):
        Webhook(generate_secret()).verify(BODY, headers)
    with pytest.raises(ReferenceVerificationError):
        Webhook(NEW_SECRET).verify(BODY + b" ", headers)


def test_we_verify_reference_library_messages() -> None:
    now = datetime.now(tz=UTC).replace(microsecond=0)
    reference = Webhook(NEW_SECRET)
    headers = {
        "webhook-id": "msg_from_reference",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": reference.sign("msg_from_reference", now, BODY.decode()),
    }
    assert verify(NEW_SECRET, headers, BODY) == VerifiedWebhook("msg_from_reference", int(now.timestamp()))
    assert verify([OLD_SECRET, NEW_SECRET], headers, BODY).msg_id == "msg_from_reference"
    with pytest.raises(WebhookVerificationError):
        verify(OLD_SECRET, headers, BODY)
    with pytest.raises(WebhookVerificationError):
        verify(NEW_SECRET, headers, BODY + b"x")


@settings(max_examples=50, deadline=None)
@given(text=st.text(max_size=200), msg_id=st.from_regex(r"msg_[A-Za-z0-9]{1,30}", fullmatch=True))
def test_signatures_equal_the_reference_library(text: str, msg_id: str) -> None:
    ts = 1_700_000_000
    ours = sign(NEW_SECRET, msg_id, ts, text.encode())
    assert ours == Webhook(NEW_SECRET).sign(msg_id, datetime.fromtimestamp(ts, tz=UTC), text)


# --- SSRF guard --------------------------------------------------------------------------------

DNS = {
    "hooks.example.com": ["93.184.216.34"],
    "v6.example.com": ["2606:4700::6810:84e5"],
    "dual.example.com": ["93.184.216.34", "2606:4700::6810:84e5"],
    "localhost": ["127.0.0.1", "::1"],
    "rebind.example.com": ["93.184.216.34", "10.0.0.7"],
    "intranet.cantho.gov.vn": ["10.10.1.20"],
    "metadata.google.internal": ["169.254.169.254"],
    "edoc.cantho.gov.vn": ["203.0.113.10"],  # TEST-NET-3, not globally routable
    "xn--mnchen-3ya.de": ["93.184.216.34"],
}


def fake_resolver(host: str, port: int) -> list[str]:
    try:
        return DNS[host]
    except KeyError:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None


def test_public_https_url_is_accepted() -> None:
    checked = check_webhook_url("https://hooks.example.com/webhooks/vb?x=1", resolver=fake_resolver)
    assert checked == CheckedUrl(
        url="https://hooks.example.com/webhooks/vb?x=1",
        scheme="https",
        host="hooks.example.com",
        port=443,
        addresses=("93.184.216.34",),
        allow_listed=False,
    )
    assert check_webhook_url("https://HOOKS.example.com.:8443/", resolver=fake_resolver).port == 8443
    assert check_webhook_url("https://dual.example.com/", resolver=fake_resolver).addresses == (
        "93.184.216.34",
        "2606:4700::6810:84e5",
    )
    assert check_webhook_url("https://[2606:4700::6810:84e5]/", resolver=fake_resolver).host == "2606:4700::6810:84e5"
    assert check_webhook_url("https://8.8.8.8/hook", resolver=fake_resolver).addresses == ("8.8.8.8",)
    assert check_webhook_url("https://münchen.de/", resolver=fake_resolver).host == "xn--mnchen-3ya.de"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        # loopback
        ("https://127.0.0.1/", "loopback"),
        ("https://127.8.9.10/", "loopback"),
        ("https://[::1]/", "loopback"),
        ("https://localhost/", "loopback"),
        # private
        ("https://10.0.0.1/", "private"),
        ("https://172.16.5.4/", "private"),
        ("https://192.168.1.1/", "private"),
        ("https://100.64.0.1/", "private"),
        ("https://[fd12:3456::1]/", "private"),
        ("https://intranet.cantho.gov.vn/", "private"),
        # link-local
        ("https://169.254.1.1/", "link-local"),
        ("https://[fe80::1]/", "link-local"),
        # metadata
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("https://[fd00:ec2::254]/", "metadata"),
        ("https://100.100.100.200/", "metadata"),
        # multicast
        ("https://224.0.0.1/", "multicast"),
        ("https://[ff02::1]/", "multicast"),
        # reserved
        ("https://240.0.0.1/", "reserved"),
        ("https://255.255.255.255/", "reserved"),
        # unspecified
        ("https://0.0.0.0/", "unspecified"),
        ("https://[::]/", "unspecified"),
        # IPv4-mapped IPv6, even of a public address
        ("https://[::ffff:127.0.0.1]/", "IPv4-mapped"),
        ("https://[::ffff:7f00:1]/", "IPv4-mapped"),
        ("https://[::ffff:8.8.8.8]/", "IPv4-mapped"),
        ("https://[::ffff:169.254.169.254]/", "IPv4-mapped"),
        # IPv6 transition addresses embedding internal IPv4
        ("https://[64:ff9b::10.0.0.1]/", "embedding an IPv4 address that is private"),
        ("https://[64:ff9b::127.0.0.1]/", "embedding an IPv4 address that is loopback"),
        ("https://[2002:7f00:1::1]/", "embedding an IPv4 address that is loopback"),
        # other non-global ranges
        ("https://192.0.2.1/", "not globally routable"),
        ("https://edoc.cantho.gov.vn/", "not globally routable"),
        ("https://[2001:db8::1]/", "not globally routable"),
        # one bad address among good ones is enough
        ("https://rebind.example.com/", "10.0.0.7 is private"),
    ],
)
def test_internal_addresses_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrlError) as info:
        check_webhook_url(url, resolver=fake_resolver)
    assert reason in info.value.reason
    assert reason in str(info.value)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/", "plain http"),
        ("ftp://hooks.example.com/", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("gopher://hooks.example.com:25/", "scheme 'gopher'"),
        ("hooks.example.com/path", "scheme"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("https://hooks.example.com@127.0.0.1/", "credentials"),
        ("https:///nohost", "no host"),
        ("https://2130706433/", "non-canonical IPv4"),
        ("https://0x7f.1/", "non-canonical IPv4"),
        ("https://127.1/", "non-canonical IPv4"),
        ("https://0177.0.0.1/", "malformed URL: Invalid IPv4"),  # httpx refuses dotted octal itself
        ("https://ex%41mple.com/", "not a valid host name"),
        ("https://unknown.example.com/", "cannot resolve"),
        ("https://hooks.example.com:0/", "out of range"),
        ("https://hooks.example.com:99999/", "out of range"),
        ("https://[::1/", "malformed URL"),
    ],
)
def test_bad_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrlError, match=reason):
        check_webhook_url(url, resolver=fake_resolver)


def test_resolver_problems_fail_closed() -> None:
    def empty(host: str, port: int) -> list[str]:
        return []

    def garbage(host: str, port: int) -> list[str]:
        return ["not-an-ip"]

    with pytest.raises(UnsafeUrlError, match="did not resolve"):
        check_webhook_url("https://hooks.example.com/", resolver=empty)
    with pytest.raises(UnsafeUrlError, match="invalid address"):
        check_webhook_url("https://hooks.example.com/", resolver=garbage)

    def timing_out(host: str, port: int) -> list[str]:
        raise TimeoutError("DNS timed out")

    with pytest.raises(UnsafeUrlError, match="cannot resolve"):
        check_webhook_url("https://hooks.example.com/", resolver=timing_out)


def test_resolver_receives_host_and_port_and_is_not_used_for_literals() -> None:
    calls: list[tuple[str, int]] = []

    def recording(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return ["93.184.216.34"]

    check_webhook_url("https://Hooks.Example.com:8443/x", resolver=recording)
    check_webhook_url("https://8.8.8.8/x", resolver=recording)
    assert calls == [("hooks.example.com", 8443)]


def test_default_resolver_is_the_system_one() -> None:
    # "localhost" resolves locally (no network needed) to a loopback address.
    with pytest.raises(UnsafeUrlError, match="loopback"):
        check_webhook_url("https://localhost:8443/")


def test_allow_list_is_honoured() -> None:
    # An allow-listed intranet host: private address and plain http are accepted.
    checked = check_webhook_url(
        "http://intranet.cantho.gov.vn:8080/callback",
        allow_hosts=["Intranet.CanTho.gov.vn.:8080"],
        resolver=fake_resolver,
    )
    assert checked.allow_listed
    assert checked.addresses == ("10.10.1.20",)
    assert checked.scheme == "http"
    # Allow-listed IP literals, IPv4 and IPv6, with their ports.
    assert check_webhook_url("http://127.0.0.1:9000/", allow_hosts=["127.0.0.1:9000"]).allow_listed
    assert check_webhook_url("http://127.0.0.1:9000/", allow_hosts=["http://127.0.0.1:9000"]).allow_listed
    assert check_webhook_url("https://[::1]:9000/", allow_hosts=["[::1]:9000"]).allow_listed
    assert check_webhook_url("https://[::1]:9000/", allow_hosts=["https://[0:0:0:0:0:0:0:1]:9000"]).allow_listed
    assert check_webhook_url("https://[::1]/", allow_hosts=["::1"]).allow_listed  # a bare host: default port
    assert check_webhook_url("http://127.0.0.1:22/", allow_hosts=["http://127.0.0.1:*"]).allow_listed  # explicit
    # IDN entries match their ASCII form.
    assert check_webhook_url("http://xn--mnchen-3ya.de/", allow_hosts=["münchen.de"], resolver=fake_resolver)
    # The allow-list is exact: neither other hosts nor subdomains benefit.
    assert check_webhook_url(
        "http://intranet.cantho.gov.vn/", allow_hosts=["intranet.cantho.gov.vn:80"], resolver=fake_resolver
    ).allow_listed
    with pytest.raises(UnsafeUrlError, match="private"):
        check_webhook_url("https://intranet.cantho.gov.vn/", allow_hosts=["cantho.gov.vn"], resolver=fake_resolver)
    with pytest.raises(UnsafeUrlError, match="plain http"):
        check_webhook_url("http://hooks.example.com/", allow_hosts=["other.example.com"], resolver=fake_resolver)


@pytest.mark.parametrize(
    ("url", "entry"),
    [
        ("http://127.0.0.1:22/", "127.0.0.1"),  # a bare host opens its default port only
        ("https://127.0.0.1:22/", "127.0.0.1"),
        ("http://127.0.0.1:22/", "127.0.0.1:9000"),
        ("http://127.0.0.1:9000/", "https://127.0.0.1:9000"),  # the scheme counts when written
        ("http://127.0.0.1/", "https://127.0.0.1"),
        ("https://[::1]:6379/", "[::1]"),
        ("https://[::1]:6379/", "[::1]:9000"),
        ("http://127.0.0.1:9000/", "127.0.0.1:x"),
    ],
)
def test_allow_list_entries_carry_ports(url: str, entry: str) -> None:
    with pytest.raises(UnsafeUrlError):
        check_webhook_url(url, allow_hosts=[entry])


def test_metadata_is_refused_even_for_allow_listed_hosts() -> None:
    for url, hosts in [
        ("http://metadata.google.internal/", ["metadata.google.internal"]),
        ("http://169.254.169.254/", ["169.254.169.254"]),
        ("http://[::ffff:169.254.169.254]/", ["::ffff:169.254.169.254"]),
        ("http://[64:ff9b::169.254.169.254]/", ["64:ff9b::169.254.169.254"]),
    ]:
        with pytest.raises(UnsafeUrlError, match="metadata"):
            check_webhook_url(url, allow_hosts=hosts, resolver=fake_resolver)


def test_allow_private_admits_only_private_addresses() -> None:
    for url in (
        "https://10.0.0.1/",
        "https://192.168.1.1/",
        "https://intranet.cantho.gov.vn/",
        "https://[fd12::1]/",
    ):
        assert check_webhook_url(url, allow_private=True, resolver=fake_resolver)
    for url, reason in [
        ("https://127.0.0.1/", "loopback"),
        ("https://169.254.1.1/", "link-local"),
        ("https://169.254.169.254/", "metadata"),
        ("https://[::ffff:10.0.0.1]/", "IPv4-mapped"),
        ("https://0.0.0.0/", "unspecified"),
    ]:
        with pytest.raises(UnsafeUrlError, match=reason):
            check_webhook_url(url, allow_private=True, resolver=fake_resolver)
    with pytest.raises(UnsafeUrlError, match="plain http"):
        check_webhook_url("http://10.0.0.1/", allow_private=True, resolver=fake_resolver)


def test_public_nat64_and_6to4_addresses_are_accepted() -> None:
    assert check_webhook_url("https://[64:ff9b::808:808]/", resolver=fake_resolver)  # 8.8.8.8 via NAT64
    assert check_webhook_url("https://[2002:808:808::1]/", resolver=fake_resolver)  # 8.8.8.8 via 6to4


# --- delivery against a real local HTTP server ------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class LocalServer:
    base_url: str
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


def _make_handler(state: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            pass

        def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            state.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if self.path == "/ok":
                self._reply(200, b"received")
            elif self.path == "/accepted":
                self._reply(202)
            elif self.path == "/fail":
                self._reply(500, b"boom: internal error")
            elif self.path == "/redirect":
                self._reply(302, b"", {"Location": f"{state.base_url}/target"})
            elif self.path == "/target":
                self._reply(200, b"should never be reached")
            elif self.path == "/gone":
                self._reply(410, b"endpoint removed")
            elif self.path == "/throttle":
                self._reply(429, b"slow down", {"Retry-After": "7"})
            elif self.path == "/unavailable":
                self._reply(503, b"", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
            elif self.path == "/big":
                self._reply(200, "ư".encode() * 5000)
            elif self.path == "/slow":
                state.release.wait(10)
                self._reply(200, b"too late")
            elif self.path == "/drip":
                # Headers at once, then one byte every 50 ms: no single read waits long.
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                for _ in range(1000):
                    if state.release.wait(0.05):
                        return
                    self.wfile.write(b"x")
            else:
                self._reply(404)

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # The client hangs up on /slow and /drip on purpose; a broken pipe is expected there.
        pass


@pytest.fixture
def server() -> Iterator[LocalServer]:
    state = LocalServer(base_url="")
    httpd = QuietServer(("127.0.0.1", 0), _make_handler(state))
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    # As the relay's: no proxy from the environment, the answer's bytes as they arrived.
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


async def test_deliver_2xx_is_success_and_signature_verifies(
    server: LocalServer, client: aiohttp.ClientSession
) -> None:
    headers = {"content-type": "application/json", **signature_headers(NEW_SECRET, "msg_deliver", BODY)}
    result = await deliver(client, f"{server.base_url}/ok", BODY, headers, timeout=5)
    assert result.ok
    assert result.status_code == 200
    assert result.error is None
    assert result.response_body == "received"
    assert not result.truncated
    assert 0 < result.latency_seconds < 5
    [received] = server.received
    assert received.body == BODY
    assert received.headers["content-type"] == "application/json"
    assert received.headers["accept-encoding"] == "identity"
    # The receiver verifies what arrived, with our code and with the reference library.
    assert verify(NEW_SECRET, received.headers, received.body).msg_id == "msg_deliver"
    Webhook(NEW_SECRET).verify(received.body, received.headers)


async def test_deliver_other_2xx(server: LocalServer, client: aiohttp.ClientSession) -> None:
    result = await deliver(client, f"{server.base_url}/accepted", BODY, {}, timeout=5)
    assert result.ok
    assert result.status_code == 202
    assert result.response_body == ""


async def test_deliver_500_is_failure(server: LocalServer, client: aiohttp.ClientSession) -> None:
    result = await deliver(client, f"{server.base_url}/fail", BODY, {}, timeout=5)
    assert not result.ok
    assert result.status_code == 500
    assert result.error == "HTTP 500"
    assert result.response_body == "boom: internal error"
    assert result.retry_after_seconds is None
    assert not result.endpoint_gone


async def test_deliver_does_not_follow_redirects(server: LocalServer, client: aiohttp.ClientSession) -> None:
    # aiohttp follows redirects unless told not to: deliver tells it.
    result = await deliver(client, f"{server.base_url}/redirect", BODY, {}, timeout=5)
    assert not result.ok
    assert result.status_code == 302
    assert result.error is not None
    assert result.error.startswith("redirect not followed")
    assert "/target" in result.error
    assert [r.path for r in server.received] == ["/redirect"]


async def test_deliver_timeout(server: LocalServer, client: aiohttp.ClientSession) -> None:
    started = time.perf_counter()
    result = await deliver(client, f"{server.base_url}/slow", BODY, {}, timeout=0.3)
    assert time.perf_counter() - started < 3
    assert not result.ok
    assert result.status_code is None
    assert result.error == "timeout"
    assert 0.25 <= result.latency_seconds < 3


async def test_deliver_total_timeout_bounds_a_slow_drip(server: LocalServer, client: aiohttp.ClientSession) -> None:
    result = await deliver(client, f"{server.base_url}/drip", BODY, {}, timeout=0.5)
    assert not result.ok
    assert result.error == "timeout"
    assert result.status_code == 200  # headers arrived, the body did not in time
    assert result.latency_seconds < 3


async def test_deliver_truncates_the_response_body(server: LocalServer, client: aiohttp.ClientSession) -> None:
    result = await deliver(client, f"{server.base_url}/big", BODY, {}, timeout=5, max_response_bytes=101)
    assert result.ok
    assert result.truncated
    # 101 bytes = 50 whole "ư" (2 bytes each) + half a character, replaced.
    assert result.response_body == "ư" * 50 + "\ufffd"


async def test_deliver_gone_and_retry_after(server: LocalServer, client: aiohttp.ClientSession) -> None:
    gone = await deliver(client, f"{server.base_url}/gone", BODY, {}, timeout=5)
    assert not gone.ok
    assert gone.endpoint_gone
    throttled = await deliver(client, f"{server.base_url}/throttle", BODY, {}, timeout=5)
    assert throttled.status_code == 429
    assert throttled.retry_after_seconds == 7.0
    unavailable = await deliver(client, f"{server.base_url}/unavailable", BODY, {}, timeout=5)
    assert unavailable.status_code == 503
    assert unavailable.retry_after_seconds == 0.0  # a date in the past


async def test_deliver_connection_refused(client: aiohttp.ClientSession) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await deliver(client, f"http://127.0.0.1:{port}/ok", BODY, {}, timeout=5)
    assert not result.ok
    assert result.status_code is None
    assert result.error is not None
    assert result.error.startswith("ClientConnectorError")


async def test_deliver_unsupported_url(client: aiohttp.ClientSession) -> None:
    result = await deliver(client, "ftp://127.0.0.1/x", BODY, {}, timeout=5)
    assert not result.ok
    assert result.error is not None
    assert "ftp://127.0.0.1/x" in result.error


# --- back-off ----------------------------------------------------------------------------------


def test_backoff_without_jitter_is_exponential_and_capped() -> None:
    delays = [backoff_delay(a, base=5, cap=3600, jitter=False) for a in range(12)]
    assert delays[:8] == [5, 10, 20, 40, 80, 160, 320, 640]
    assert delays[10:] == [3600, 3600]
    assert backoff_delay(10_000, base=5, cap=3600, jitter=False) == 3600  # no overflow


def test_backoff_full_jitter_is_deterministic_with_a_seeded_rng() -> None:
    first = [backoff_delay(a, rng=random.Random(42)) for a in range(10)]
    second = [backoff_delay(a, rng=random.Random(42)) for a in range(10)]
    assert first == second
    rng = random.Random(7)
    sequence_a = [backoff_delay(a, rng=rng) for a in range(10)]
    rng = random.Random(7)
    assert [backoff_delay(a, rng=rng) for a in range(10)] == sequence_a
    # Jitter actually spreads the values.
    assert len({backoff_delay(5, rng=random.Random(seed)) for seed in range(20)}) == 20


@settings(max_examples=200, deadline=None)
@given(
    attempt=st.integers(min_value=0, max_value=200),
    base=st.floats(min_value=0.01, max_value=60),
    extra=st.floats(min_value=0, max_value=86_400),
    seed=st.integers(),
)
def test_backoff_stays_within_the_ceiling(attempt: int, base: float, extra: float, seed: int) -> None:
    cap = base + extra
    ceiling = backoff_delay(attempt, base=base, cap=cap, jitter=False)
    assert base <= ceiling <= cap
    assert 0 <= backoff_delay(attempt, base=base, cap=cap, rng=random.Random(seed)) <= ceiling
    assert 0 <= backoff_delay(attempt, base=base, cap=cap) <= ceiling


@pytest.mark.parametrize(
    ("attempt", "base", "cap", "message"),
    [(-1, 5.0, 60.0, "attempt"), (0, 0.0, 60.0, "base"), (0, 10.0, 5.0, "cap")],
)
def test_backoff_rejects_bad_arguments(attempt: int, base: float, cap: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        backoff_delay(attempt, base=base, cap=cap)
