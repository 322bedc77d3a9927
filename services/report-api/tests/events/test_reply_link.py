"""A unit's reply document received by edXML in directive-api is noted on that unit's obligation."""

from __future__ import annotations

from report_testing import Api, event


async def test_reply_document_is_noted_on_the_obligation(api: Api) -> None:
    directive = await api.dispatch()
    reply = event(
        "delivery.reply_received",
        {
            "directive": directive,
            "unit_code": "X31299",
            "reply": {"package_id": 7, "code": "15/BC-UBND", "subject": "Báo cáo kết quả theo dõi, chia sẻ"},
        },
    )
    response = await api.deliver(reply)
    assert response.status_code == 200, response.text
    assert (await api.deliver(reply)).json()["status"] == "duplicate"
    obligation = await api.obligation_of("X31299", directive["id"])
    detail = (await api.get(obligation["id"], api.actors.unit_officer("X31299"))).json()
    notes = [h for h in detail["history"] if h["action"] == "reply_received"]
    assert len(notes) == 1
    assert notes[0]["comment"] == "Văn bản trả lời 15/BC-UBND: Báo cáo kết quả theo dõi, chia sẻ"
    other = await api.obligation_of("SNV", directive["id"])
    other_detail = (await api.get(other["id"], api.actors.unit_officer("SNV"))).json()
    assert not [h for h in other_detail["history"] if h["action"] == "reply_received"]
