from django import template

from catalog import presentation

register = template.Library()


@register.filter
def entity_url(ref: str) -> str:
    return presentation.entity_url(ref) if ref else ""


@register.filter
def short_ref(ref: str, default_kind: str = "") -> str:
    return presentation.short_ref(ref, default_kind=default_kind or None) if ref else ""


SAFE_SCHEMES = ("http://", "https://", "mailto:")


@register.filter
def safe_url(url) -> str:
    """Links come from catalog files anyone can write: only http(s) and mailto are followed."""
    text = str(url or "").strip()
    return text if text.lower().startswith(SAFE_SCHEMES) else ""
