"""The public dashboard: disclosures with filters, case pages, trends, the signed tree
head and how to audit it, a JSON API, JSON Feed and Atom. Served offline by the
authority (:class:`DashboardServer`), built by :func:`create_dashboard`."""

from authority.dashboard.server import DashboardServer
from authority.dashboard.web import DashboardContext, context_for, create_dashboard

__all__ = ["DashboardContext", "DashboardServer", "context_for", "create_dashboard"]
