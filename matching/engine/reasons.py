"""Short human reasons for proposals and diagnoses for requests left unmatched.

Reasons never name a sensitive attribute: a gender preference is described only as
"a stated preference about the listener", and private notes never reach the engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from matching.engine.model import Listener, Params, Request, ScorePart
from matching.engine.scoring import shared_topics
from matching.engine.slots import zone
from matching.vocabulary import field_phrase, modality_phrase

LANGUAGE_NAMES = {
    "ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "ca": "Catalan", "cs": "Czech",
    "cy": "Welsh", "da": "Danish", "de": "German", "el": "Greek", "en": "English",
    "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish",
    "fr": "French", "ga": "Irish", "gl": "Galician", "gu": "Gujarati", "he": "Hebrew",
    "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "hy": "Armenian", "id": "Indonesian",
    "is": "Icelandic", "it": "Italian", "ja": "Japanese", "ka": "Georgian", "ko": "Korean",
    "ku": "Kurdish", "lt": "Lithuanian", "lv": "Latvian", "mk": "Macedonian", "ms": "Malay",
    "mt": "Maltese", "nl": "Dutch", "no": "Norwegian", "pa": "Punjabi", "pl": "Polish",
    "ps": "Pashto", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak",
    "sl": "Slovenian", "so": "Somali", "sq": "Albanian", "sr": "Serbian", "sv": "Swedish",
    "sw": "Swahili", "ta": "Tamil", "th": "Thai", "ti": "Tigrinya", "tl": "Tagalog",
    "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "yi": "Yiddish",
    "zh": "Chinese",
}  # fmt: skip


def language_name(code: str) -> str:
    """Return the English name of an ISO 639-1 code, or the code itself when unknown."""
    return LANGUAGE_NAMES.get(code.strip().lower(), code)


def _join(words: Iterable[str], last: str) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


def languages_text(codes: Iterable[str], last: str = "and") -> str:
    """Return language names joined for a sentence, sorted for a stable text."""
    return _join(sorted(language_name(code) for code in codes), last)


def modalities_text(codes: Iterable[str], last: str = "or") -> str:
    """Return ways of meeting joined for a sentence."""
    return _join(sorted(modality_phrase(code) for code in codes), last)


def ways_text(codes: Iterable[str]) -> str:
    """Return 'by phone or video', 'in person', 'by video or in person'."""
    codes = set(codes)
    remote = sorted(modality_phrase(c) for c in codes if c != "in_person")
    parts = [f"by {_join(remote, 'or')}"] if remote else []
    if "in_person" in codes:
        parts.append("in person")
    return " or ".join(parts)


def when_text(start: datetime, timezone: str) -> str:
    """Return a start as 'Tue 10 Mar 10:00 (Europe/Berlin)' in the given zone."""
    local = start.astimezone(zone(timezone))
    return f"{local:%a} {local.day} {local:%b %H:%M} ({timezone})"


def proposal_reasons(
    request: Request,
    listener: Listener,
    start: datetime,
    parts: tuple[ScorePart, ...],
    params: Params,
    *,
    earliest_for_pair: bool,
) -> tuple[str, ...]:
    """Return the reasons for a proposal, built from its score parts."""
    points = {part.name: part.points for part in parts}
    reasons = [f"both speak {languages_text(request.languages & listener.languages)}"]
    reasons.append(f"can meet {ways_text(request.modalities & listener.modalities)}")
    if points.get("field"):
        reasons.append(f"both worked in {field_phrase(request.field)}")
    topics = shared_topics(request, listener)
    if topics:
        reasons.append(f"{len(topics)} of {len(request.topics)} topics in common")
    if points.get("continuity"):
        reasons.append("met before and rated it well")
    if request.urgency in ("urgent", "soon"):
        reasons.append(f"request marked {request.urgency}")
    label = "earliest shared time" if earliest_for_pair else "shared time"
    reasons.append(f"{label} {when_text(start, request.timezone)}")
    if params.weights.load and points.get("load") == params.weights.load:
        reasons.append("listener has no other session that week")
    return tuple(reasons)
