"""The public feeds: JSON Feed 1.1 and Atom (RFC 4287), built from signed disclosures.

Rules: a feed item is made only from a disclosure's signed public document (the same
bytes the API serves), so a feed can never say more than a disclosure does. Item ids
are stable URNs per case and version; each item links to its case page.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from authority.dashboard.queries import label

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


def headline(document: dict[str, Any]) -> str:
    """A title from public facts only: "High-severity cyber incident"."""
    if document.get("withdrawn"):
        return f"Case {document['case_id']} withdrawn from public view"
    domains = ", ".join(label(d).lower() for d in document.get("harm_domains", []))
    kinds = " and ".join(label(k).lower() for k in document.get("kinds", []))
    return f"{str(document.get('severity', '')).capitalize()}-severity {domains} {kinds}"


def feed_title(document: dict[str, Any]) -> str:
    """The headline with week and labs: "High-severity cyber incident (2026-W45, 2 labs)"."""
    if document.get("withdrawn"):
        return headline(document)
    labs = document.get("labs", 0)
    return (
        f"{headline(document)} ({document.get('occurred_week', '')}, "
        f"{labs} lab{'s' if labs != 1 else ''})"
    )


def item_id(authority_id: str, document: dict[str, Any]) -> str:
    return f"urn:nearmiss:{authority_id}:disclosure:{document['case_id']}:v{document['version']}"


def plain_text(document: dict[str, Any]) -> str:
    parts = [f"{section['heading']}\n{section['text']}".strip() for section in document.get(
        "sections", []
    )]
    return "\n\n".join(parts) or "No public narrative: see the structured fields."


def json_feed(
    documents: list[dict[str, Any]], *, base_url: str, authority_id: str
) -> dict[str, Any]:
    return {
        "version": JSON_FEED_VERSION,
        "title": f"nearmiss disclosures — {authority_id}",
        "home_page_url": base_url,
        "feed_url": f"{base_url}feed.json",
        "description": "Scoped public disclosures of AI incidents and near-misses.",
        "language": "en",
        "items": [
            {
                "id": item_id(authority_id, document),
                "url": f"{base_url}cases/{document['case_id']}",
                "title": feed_title(document),
                "content_text": plain_text(document),
                "date_published": document["published_at"],
                "tags": list(document.get("harm_domains", [])) + list(document.get("kinds", [])),
                "_nearmiss": {
                    "case_id": document["case_id"],
                    "version": document["version"],
                    "severity": document.get("severity"),
                    "occurred_week": document.get("occurred_week"),
                    "labs": document.get("labs"),
                    "api": f"{base_url}api/disclosures/{document['case_id']}",
                },
            }
            for document in documents
        ],
    }


def atom_feed(
    documents: list[dict[str, Any]], *, base_url: str, authority_id: str, updated: str
) -> str:
    entries = []
    for document in documents:
        url = f"{base_url}cases/{document['case_id']}"
        categories = "".join(
            f'<category term="{escape(term)}"/>'
            for term in list(document.get("harm_domains", [])) + list(document.get("kinds", []))
        )
        entries.append(
            "<entry>"
            f"<id>{escape(item_id(authority_id, document))}</id>"
            f"<title>{escape(feed_title(document))}</title>"
            f'<link rel="alternate" type="text/html" href="{escape(url)}"/>'
            f"<updated>{escape(document['published_at'])}</updated>"
            f"{categories}"
            f'<content type="text">{escape(plain_text(document))}</content>'
            "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>urn:nearmiss:{escape(authority_id)}:disclosures</id>"
        f"<title>nearmiss disclosures — {escape(authority_id)}</title>"
        f"<updated>{escape(updated)}</updated>"
        f"<author><name>{escape(authority_id)}</name></author>"
        f'<link rel="self" type="application/atom+xml" href="{escape(base_url)}feed.atom"/>'
        f'<link rel="alternate" type="text/html" href="{escape(base_url)}"/>'
        + "".join(entries)
        + "</feed>\n"
    )
