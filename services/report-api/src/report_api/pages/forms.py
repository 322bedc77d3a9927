"""A report form generated from the document's JSON Schema, and the posted form read back into a report."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

EVIDENCE_TYPES = "application/pdf,image/png,image/jpeg"


@dataclass(frozen=True)
class FormField:
    key: str
    label: str
    widget: str
    """``number``, ``yesno``, ``url``, ``date``, ``textarea`` or ``files``."""
    required: bool
    max_length: int | None = None


def fields_of(schema: dict[str, Any] | None) -> list[FormField]:
    """One input per property of the report's JSON Schema, in its order."""
    if not schema:
        return []
    required = set(schema.get("required") or [])
    fields = []
    for key, spec in (schema.get("properties") or {}).items():
        kind = spec.get("type")
        if kind == "integer":
            widget = "number"
        elif kind == "boolean":
            widget = "yesno"
        elif kind == "array":
            widget = "files"
        elif spec.get("format") == "uri":
            widget = "url"
        elif spec.get("format") == "date":
            widget = "date"
        else:
            widget = "textarea"
        fields.append(FormField(key, str(spec.get("title") or key), widget, key in required, spec.get("maxLength")))
    return fields


def read(fields: list[FormField], form: Any, files: dict[str, int]) -> dict[str, Any]:
    """The report as the API takes it; each file input becomes placeholder ids (one per file) until stored."""
    data: dict[str, Any] = {}
    for field in fields:
        if field.widget == "files":
            if files.get(field.key):
                data[field.key] = [str(uuid.uuid4()) for _ in range(files[field.key])]
            continue
        raw = str(form.get(field.key) or "").strip()
        if not raw:
            continue
        if field.widget == "number":
            data[field.key] = int(raw) if re.fullmatch(r"-?\d{1,13}", raw) else raw
        elif field.widget == "yesno":
            data[field.key] = {"true": True, "false": False}.get(raw, raw)
        else:
            data[field.key] = raw
    return data


MESSAGES = {
    "missing": "Bắt buộc nhập.",
    "int_type": "Nhập một số nguyên.",
    "int_parsing": "Nhập một số nguyên.",
    "greater_than_equal": "Không được nhỏ hơn 0.",
    "bool_type": "Chọn Có hoặc Không.",
    "date_from_datetime_parsing": "Nhập ngày hợp lệ.",
    "date_parsing": "Nhập ngày hợp lệ.",
    "too_short": "Cần ít nhất một tệp.",
}


def messages(errors: list[dict[str, Any]]) -> dict[str, str]:
    """Vietnamese messages per field of the template validator's errors."""
    out: dict[str, str] = {}
    for error in errors:
        key = str(error.get("field", "")).split(".")[0]
        code = str(error.get("code", ""))
        text = MESSAGES.get(code) or (
            "Địa chỉ phải bắt đầu bằng http:// hoặc https://."
            if "http" in str(error.get("message"))
            else "Giá trị không hợp lệ."
        )
        out.setdefault(key, text)
    return out
