"""The daily press digest for leaders (bản tin báo chí hằng ngày): one day (Viet Nam time) of the items the
caller may see — volume by sentiment, the topics talked about, the spikes raised, the most repeated stories
and the most negative items — as a page and as a PDF (DejaVu Sans through `core.pdf`)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

from fpdf.enums import XPos, YPos
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from toancanh.core.auth.scope import Principal, scoped
from toancanh.core.pdf import FONT_DIRS, UnicodePDF, find_font_dir
from toancanh.core.units import Unit, get_unit
from toancanh.core.worktime import VN_TZ
from toancanh.modules.media import service
from toancanh.modules.media.models import MediaItem, MediaItemTopic, MediaSpike, MediaTopic
from toancanh.modules.media.sentiment import LABEL_VI

TOP = 10


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0, 0), VN_TZ)
    return start, start + timedelta(days=1)


def build(
    db: Session, principal: Principal, day: date | None = None, unit_id: int | None = None
) -> dict[str, Any]:
    day = day or datetime.now(VN_TZ).date()
    start, end = _bounds(day)
    stmt = service.scoped_items(principal).where(MediaItem.ingested_at >= start, MediaItem.ingested_at < end)
    unit_name = None
    if unit_id is not None:
        unit = get_unit(db, unit_id)
        unit_name = unit.name
        stmt = stmt.where(MediaItem.unit_id.in_(select(Unit.id).where(Unit.path.startswith(unit.path))))
    items = list(db.scalars(stmt.order_by(MediaItem.id)))
    ids = [i.id for i in items]
    by_sentiment = Counter(i.sentiment for i in items)
    stories = Counter(i.story_id or i.id for i in items)
    first = {i.id: i for i in items}
    topic_rows: list[Any] = []
    if ids:
        topic_rows = list(
            db.execute(
                select(MediaTopic.id, MediaTopic.name, func.count(MediaItemTopic.item_id))
                .join(MediaItemTopic, MediaItemTopic.topic_id == MediaTopic.id)
                .where(MediaItemTopic.item_id.in_(ids))
                .group_by(MediaTopic.id, MediaTopic.name)
                .order_by(func.count(MediaItemTopic.item_id).desc())
                .limit(TOP)
            ).all()
        )
    negative_by_topic: Counter[int] = Counter()
    if ids:
        neg = [i.id for i in items if i.sentiment == "negative"]
        if neg:
            for tid, n in db.execute(
                select(MediaItemTopic.topic_id, func.count())
                .where(MediaItemTopic.item_id.in_(neg))
                .group_by(MediaItemTopic.topic_id)
            ).all():
                negative_by_topic[tid] = n
    spikes = db.execute(
        scoped(select(MediaSpike, MediaTopic), principal, MediaSpike, service.READ)
        .join(MediaTopic, MediaTopic.id == MediaSpike.topic_id)
        .where(MediaSpike.detected_at >= start, MediaSpike.detected_at < end)
        .order_by(MediaSpike.detected_at)
    ).all()
    top_stories = []
    for sid, n in stories.most_common(TOP):
        item = first.get(sid) or next(i for i in items if (i.story_id or i.id) == sid)
        top_stories.append(
            {"story_id": sid, "title": item.title, "url": item.url, "items": n, "sentiment": item.sentiment}
        )
    negatives = sorted((i for i in items if i.sentiment == "negative"), key=lambda i: i.sentiment_score)[:TOP]
    return {
        "day": day.isoformat(),
        "unit_id": unit_id,
        "unit": unit_name,
        "total": len(items),
        "stories": len(stories),
        "by_sentiment": {k: by_sentiment.get(k, 0) for k in ("positive", "neutral", "negative")},
        "topics": [
            {"id": tid, "name": name, "items": n, "negative": negative_by_topic.get(tid, 0)}
            for tid, name, n in topic_rows
        ],
        "spikes": [service.spike_summary(s, t) for s, t in spikes],
        "top_stories": top_stories,
        "negative_items": [
            {
                "id": i.id,
                "title": i.title,
                "url": i.url,
                "score": i.sentiment_score,
                "confidence": i.sentiment_confidence,
            }
            for i in negatives
        ],
    }


def to_pdf(data: dict[str, Any], font_dir: Any = None) -> bytes:
    folder = find_font_dir([font_dir] if font_dir is not None else FONT_DIRS)
    pdf = UnicodePDF(folder)
    c = pdf.clean
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    w = pdf.epw
    pdf.set_font(pdf.base_family, "B", 16)
    pdf.multi_cell(w, 9, c("BẢN TIN BÁO CHÍ, MẠNG XÃ HỘI"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(pdf.base_family, "", 11)
    where = f" — {data['unit']}" if data.get("unit") else ""
    pdf.multi_cell(w, 6, c(f"Ngày {data['day']}{where}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    s = data["by_sentiment"]
    pdf.multi_cell(
        w,
        6,
        c(
            f"Tổng số: {data['total']} tin ({data['stories']} câu chuyện). Tích cực {s['positive']}, "
            f"trung tính {s['neutral']}, tiêu cực {s['negative']}."
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )

    def heading(title: str) -> None:
        pdf.ln(3)
        pdf.set_font(pdf.base_family, "B", 12)
        pdf.multi_cell(w, 7, c(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(pdf.base_family, "", 10)

    def line(textline: str) -> None:
        pdf.multi_cell(w, 5.5, c(textline), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    heading("Đột biến")
    for sp in data["spikes"] or [None]:
        line("Không có" if sp is None else f"• {sp['text']}")
    heading("Chủ đề được nhắc đến nhiều")
    for t in data["topics"] or [None]:
        line("Không có" if t is None else f"• {t['name']}: {t['items']} tin, {t['negative']} tiêu cực")
    heading("Tin được đăng lại nhiều nhất")
    for st in data["top_stories"] or [None]:
        line(
            "Không có"
            if st is None
            else f"• {st['title']} ({st['items']} lần; {LABEL_VI.get(st['sentiment'], '')})"
        )
    heading("Tin tiêu cực nổi bật")
    for it in data["negative_items"] or [None]:
        line("Không có" if it is None else f"• {it['title']} (độ tin cậy {it['confidence']:.0%})")
    return bytes(pdf.output())
