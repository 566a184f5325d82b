"""The public dashboard as a FastAPI app: pages (Jinja), JSON API, feeds, static files.

Rules this module enforces:

- Read-only and public: every route reads signed disclosures, public counts, DP
  releases or the signed tree head; none reads report content. (Fetching the tree head
  may store a newly signed head for the current size — the log's own rule.)
- Works offline: templates, CSS and JS ship in this package; the Content Security
  Policy allows only this origin (``default-src 'self'``), so nothing is fetched from
  elsewhere even by mistake, and no inline script can run.
- Filters are validated against the fixed choices; an unknown value is ignored, not
  echoed.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from authority.dashboard.charts import trend_svg
from authority.dashboard.feeds import atom_feed, headline, json_feed
from authority.dashboard.queries import FILTER_CHOICES, label, summary, trend
from authority.disclosure.cases import CaseSource, ReportCases
from authority.disclosure.store import (
    PERIODS,
    DisclosureFilters,
    case_versions,
    latest_disclosures,
    published,
)
from authority.log import TransparencyLog
from authority.privacy.config import PrivacyConfig
from nearmiss.signing import VerifyingKey

if TYPE_CHECKING:
    from authority.privacy.summary import LedgerView

PACKAGE_DIR = Path(__file__).resolve().parent
FEED_ITEMS = 50
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class DashboardContext:
    engine: Engine
    log: TransparencyLog
    authority_id: str
    verifying_key: VerifyingKey
    # A function: the gRPC port may be chosen at start (port 0), after the app is built.
    grpc_address: Callable[[], str]
    cases: CaseSource
    # Whose ledger the privacy page shows, and its limits ([privacy] in authority.toml).
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)


class _SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def _filters(request: Request) -> DisclosureFilters:
    params = request.query_params
    chosen = {
        name: value if value in {v for v, _ in FILTER_CHOICES[name]} else ""
        for name in ("harm_domain", "severity", "kind")
        for value in [params.get(name, "")]
    }
    period = params.get("period", "")
    if period not in PERIODS and not (period.isdigit() and len(period) == 4):
        period = ""
    try:
        offset = max(int(params.get("offset", "0")), 0)
        limit = min(max(int(params.get("limit", "100")), 1), 500)
    except ValueError:
        offset, limit = 0, 100
    return DisclosureFilters(period=period, offset=offset, limit=limit, **chosen)


def _tree_head(context: DashboardContext) -> dict[str, Any]:
    with Session(context.engine, expire_on_commit=False) as session:
        head = context.log.signed_tree_head(session)
        session.commit()
    timestamp = datetime.fromtimestamp(head.timestamp.seconds, UTC).replace(
        microsecond=head.timestamp.nanos // 1000
    )
    return {
        "authority": context.authority_id,
        "tree_size": head.tree_size,
        "root_hash": head.root_hash.hex(),
        "timestamp": timestamp.isoformat().replace("+00:00", "Z"),
        "timestamp_ms": head.timestamp.seconds * 1000 + head.timestamp.nanos // 1_000_000,
        "signature": base64.b64encode(head.signature).decode(),
        "authority_key_id": head.authority_key_id,
        "public_key_pem": context.verifying_key.to_pem().decode(),
    }


def create_dashboard(context: DashboardContext) -> FastAPI:
    app = FastAPI(
        title=f"nearmiss dashboard — {context.authority_id}",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.add_middleware(_SecurityHeaders)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")
    templates.env.globals.update(label=label, headline=headline, choices=FILTER_CHOICES)

    def page(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("authority_id", context.authority_id)
        return templates.TemplateResponse(request, name, values, status_code=status)

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        filters = _filters(request)
        with Session(context.engine) as session:
            figures = summary(session, context.log, context.cases)
            rows = latest_disclosures(session, filters)
            series = trend(session, filters)
        documents = [published(row).document for row in rows]
        return page(
            request,
            "index.html",
            summary=figures,
            disclosures=documents,
            filters=filters,
            chart=trend_svg(series, title="Trend over time"),
            trend=series,
            filtered=any((filters.harm_domain, filters.severity, filters.kind, filters.period)),
        )

    @app.get("/cases/{case_id}", response_class=HTMLResponse)
    def case_page(request: Request, case_id: str) -> HTMLResponse:
        with Session(context.engine) as session:
            rows = case_versions(session, case_id[:80])
        if not rows:
            return page(request, "not_found.html", 404, what="case")
        versions = [published(row) for row in rows]
        return page(
            request,
            "case.html",
            latest=versions[0].document,
            versions=[v.as_json() for v in versions],
        )

    @app.get("/audit", response_class=HTMLResponse)
    def audit_page(request: Request) -> HTMLResponse:
        return page(
            request, "audit.html", head=_tree_head(context), grpc_address=context.grpc_address()
        )

    def ledger() -> LedgerView:
        # Imported on first use: the release decoding pulls in scipy.stats.
        from authority.privacy.summary import ledger_view

        with Session(context.engine) as session:
            return ledger_view(
                session, scope=context.privacy.scope, budget=context.privacy.budget()
            )

    @app.get("/privacy", response_class=HTMLResponse)
    def privacy_page(request: Request) -> HTMLResponse:
        return page(request, "privacy.html", view=ledger(), settings=context.privacy)

    @app.get("/api/ledger")
    def api_ledger() -> JSONResponse:
        return JSONResponse({"authority": context.authority_id, **ledger().as_json()})

    @app.get("/api/releases")
    def api_releases() -> JSONResponse:
        releases = ledger().releases
        return JSONResponse(
            {
                "authority": context.authority_id,
                "scope": context.privacy.scope,
                "count": len(releases),
                "releases": [release.as_json() for release in releases],
            }
        )

    @app.get("/api/releases/{release_id}")
    def api_release(release_id: str) -> JSONResponse:
        from authority.privacy.summary import get_release_view

        with Session(context.engine) as session:
            found = get_release_view(session, release_id[:64], scope=context.privacy.scope)
        if found is None:
            return JSONResponse({"error": "no release with this id"}, status_code=404)
        return JSONResponse({"authority": context.authority_id, **found.as_json(cells=True)})

    @app.get("/api/disclosures")
    def api_disclosures(request: Request) -> JSONResponse:
        filters = _filters(request)
        with Session(context.engine) as session:
            rows = latest_disclosures(session, filters)
        return JSONResponse(
            {
                "authority": context.authority_id,
                "count": len(rows),
                "offset": filters.offset,
                "disclosures": [published(row).as_json() for row in rows],
            }
        )

    @app.get("/api/disclosures/{case_id}")
    def api_case(case_id: str) -> JSONResponse:
        with Session(context.engine) as session:
            rows = case_versions(session, case_id[:80])
        if not rows:
            return JSONResponse({"error": "no disclosure for this case"}, status_code=404)
        return JSONResponse(
            {"case_id": rows[0].case_id, "versions": [published(r).as_json() for r in rows]}
        )

    @app.get("/api/tree-head")
    def api_tree_head() -> JSONResponse:
        return JSONResponse(_tree_head(context))

    @app.get("/api/summary")
    def api_summary(request: Request) -> JSONResponse:
        filters = _filters(request)
        with Session(context.engine) as session:
            figures = summary(session, context.log, context.cases)
            series = trend(session, filters)
        return JSONResponse(
            {
                **figures.__dict__,
                "trend": {
                    "source": series.source,
                    "caption": series.caption,
                    "points": [p.__dict__ for p in series.points],
                },
            }
        )

    def feed_documents() -> list[dict[str, Any]]:
        with Session(context.engine) as session:
            rows = latest_disclosures(session, DisclosureFilters(limit=FEED_ITEMS))
        return [published(row).document for row in rows]

    @app.get("/feed.json")
    def feed_json(request: Request) -> JSONResponse:
        body = json_feed(
            feed_documents(), base_url=str(request.base_url), authority_id=context.authority_id
        )
        return JSONResponse(body, media_type="application/feed+json")

    @app.get("/feed.atom")
    def feed_atom(request: Request) -> Response:
        documents = feed_documents()
        updated = documents[0]["published_at"] if documents else "1970-01-01T00:00:00Z"
        body = atom_feed(
            documents,
            base_url=str(request.base_url),
            authority_id=context.authority_id,
            updated=updated,
        )
        return Response(body, media_type="application/atom+xml")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def context_for(
    *,
    engine: Engine,
    log: TransparencyLog,
    authority_id: str,
    verifying_key: VerifyingKey,
    grpc_address: Callable[[], str],
    cases: CaseSource | None = None,
    privacy: PrivacyConfig | None = None,
) -> DashboardContext:
    return DashboardContext(
        engine,
        log,
        authority_id,
        verifying_key,
        grpc_address,
        cases or ReportCases(),
        privacy or PrivacyConfig(),
    )
