"""What the task and editor pages show: output links and text, file previews, durations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import markdown
import nh3

from catalog.presentation import entity_url

MAX_PREVIEW_BYTES = 100_000
MAX_PREVIEW_FILES = 300


@dataclass
class OutputLink:
    title: str
    url: str  # followable (http(s) or a portal path); empty when only shown as text
    text: str  # what to show when the link cannot be followed
    icon: str = ""


def safe_markdown(text: str) -> str:
    html = markdown.markdown(str(text or ""), extensions=["fenced_code", "tables", "sane_lists"])
    return nh3.clean(html, link_rel="noopener noreferrer")


def output_links(output: Any) -> list[OutputLink]:
    links = []
    for item in (output or {}).get("links") or [] if isinstance(output, dict) else []:
        if not isinstance(item, dict):
            continue
        ref = item.get("entityRef")
        url = str(item.get("url") or "")
        if isinstance(ref, str) and ref and ":" in ref:
            target = entity_url(ref.lower())
            links.append(OutputLink(str(item.get("title") or ref), target, ref, str(item.get("icon") or "")))
            continue
        followable = url if url.lower().startswith(("https://", "http://")) else ""
        links.append(OutputLink(str(item.get("title") or url or "Link"), followable, url, str(item.get("icon") or "")))
    return links


def output_texts(output: Any) -> list[dict[str, str]]:
    texts = []
    for item in (output or {}).get("text") or [] if isinstance(output, dict) else []:
        if isinstance(item, dict) and item.get("content") is not None:
            texts.append({"title": str(item.get("title") or ""), "html": safe_markdown(str(item["content"]))})
    return texts


def file_previews(files) -> list[dict[str, Any]]:
    previews = []
    for workspace_file in list(files or [])[:MAX_PREVIEW_FILES]:
        text = workspace_file.text
        previews.append({
            "path": workspace_file.path,
            "size": workspace_file.size,
            "text": text[:MAX_PREVIEW_BYTES] if text is not None else None,
            "truncated": text is not None and len(text) > MAX_PREVIEW_BYTES,
            "executable": workspace_file.executable,
        })
    return previews


def duration_text(delta) -> str:
    if delta is None:
        return ""
    seconds = delta.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"
