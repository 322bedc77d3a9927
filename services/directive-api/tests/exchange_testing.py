"""Constants of the exchange tests: the Office and Sở Nội vụ as members of the hub double."""

from __future__ import annotations

from common.edxml import Organization

OFFICE = Organization(organ_id="000.00.01.H13", organ_name="Văn phòng UBND thành phố Cần Thơ")
SNV = "000.00.02.H13"
INBOX_SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"
