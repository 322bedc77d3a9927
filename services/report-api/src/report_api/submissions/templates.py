"""Report templates: a document's ``compliance.report_fields`` as a JSON Schema and a validator.

The JSON Schema (draft 2020-12) is stored with the directive record and published to the units;
submissions are validated by a pydantic model generated from the same fields, so both always agree.
Field types: ``non_negative_integer``, ``boolean``, ``url``, ``date``, ``text``, ``evidence`` (a
list of evidence ids uploaded to the same obligation).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    create_model,
)

from report_api.submissions.errors import ReportInvalidError

FieldType = Literal["non_negative_integer", "boolean", "url", "date", "text", "evidence"]
NUMERIC_TYPES = frozenset({"non_negative_integer"})
MAX_TEXT = 5_000
MAX_URL = 2_000
MAX_EVIDENCE = 20
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class ReportField(BaseModel):
    """One field of a report template, as directive-api's ``compliance.report_fields`` lists it."""

    model_config = ConfigDict(extra="ignore")

    key: Annotated[str, StringConstraints(pattern=_KEY.pattern)]
    label: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    type: FieldType
    required: bool = False


def _nfc(value: str) -> str:
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value):
        raise ValueError("control characters are not allowed")
    return unicodedata.normalize("NFC", value)


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/?#]+[^\s]*$", value, flags=re.IGNORECASE):
        raise ValueError("must be an http(s) URL")
    return value


def json_schema(fields: list[ReportField]) -> dict[str, Any]:
    """The JSON Schema of a report with ``fields``."""
    properties: dict[str, Any] = {}
    for field in fields:
        spec: dict[str, Any]
        if field.type == "non_negative_integer":
            spec = {"type": "integer", "minimum": 0}
        elif field.type == "boolean":
            spec = {"type": "boolean"}
        elif field.type == "url":
            spec = {"type": "string", "format": "uri", "pattern": "^https?://", "maxLength": MAX_URL}
        elif field.type == "date":
            spec = {"type": "string", "format": "date"}
        elif field.type == "text":
            spec = {"type": "string", "maxLength": MAX_TEXT}
        else:
            spec = {
                "type": "array",
                "items": {"type": "string", "format": "uuid"},
                "maxItems": MAX_EVIDENCE,
                "uniqueItems": True,
                "minItems": 1 if field.required else 0,
            }
        properties[field.key] = {"title": field.label, "x-field-type": field.type, **spec}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": [f.key for f in fields if f.required],
        "additionalProperties": False,
    }


def _annotation(field: ReportField) -> Any:
    if field.type == "non_negative_integer":
        return Annotated[StrictInt, Field(ge=0, le=10**12)]
    if field.type == "boolean":
        return StrictBool
    if field.type == "url":
        return Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_URL), AfterValidator(_http_url)]
    if field.type == "date":
        return date
    if field.type == "text":
        return Annotated[str, StringConstraints(max_length=MAX_TEXT), AfterValidator(_nfc)]
    min_items = 1 if field.required else 0
    return Annotated[list[uuid.UUID], Field(min_length=min_items, max_length=MAX_EVIDENCE)]


def parse_fields(raw: Any) -> list[ReportField]:
    """The report fields of a compliance block (an empty list when there are none)."""
    if not raw:
        return []
    return [ReportField.model_validate(item) for item in raw]


def validate_report(fields: list[ReportField], data: Any) -> tuple[dict[str, Any], list[str]]:
    """Check ``data`` against the template; returns the normalised report and the evidence ids it cites.

    Raises :class:`ReportInvalidError` (422) listing every violation.
    """
    definitions: dict[str, Any] = {}
    for field in fields:
        annotation = _annotation(field)
        definitions[field.key] = (annotation, ...) if field.required else (annotation | None, None)
    model = create_model("Report", __config__=ConfigDict(extra="forbid"), **definitions)
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "code": e["type"]}
            for e in exc.errors(include_url=False)
        ]
        raise ReportInvalidError("the report does not match the template of this document", errors=errors) from None
    clean: dict[str, Any] = parsed.model_dump(mode="json", exclude_none=True)
    evidence: list[str] = []
    for field in fields:
        if field.type == "evidence":
            for item in clean.get(field.key, []):
                if item not in evidence:
                    evidence.append(item)
    return clean, evidence
