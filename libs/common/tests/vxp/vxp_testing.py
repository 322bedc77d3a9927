"""The two hub members the VXP tests use: the Office and Sở Nội vụ."""

from __future__ import annotations

OFFICE = "000.00.01.H13"
SNV = "000.00.02.H13"
AGENCIES = {
    "agencies": [
        {"system_id": "vxp.vpub", "secret": "office-secret", "organ_ids": [OFFICE], "name": "Van phong UBND"},
        {"system_id": "vxp.snv", "secret": "snv-secret", "organ_ids": [SNV], "name": "So Noi vu"},
    ]
}
