"""Alerts: raised by the alert-routing pack when a case changes, filtered per recipient
by the safe-harbor pack, delivered over SubscribeAlerts with per-recipient cursors,
acknowledged with AckAlert, escalated when unacknowledged, and handed to federation.

Entry point for case linking::

    from authority.alerts import CaseSnapshot, alert_service_of
    alert_service_of(app).on_case_changed(session, CaseSnapshot.from_records(...))
"""

from authority.alerts.component import alert_service_of, install_alerts
from authority.alerts.config import AlertsConfig
from authority.alerts.service import AlertService, PeerSink, RaisedAlert
from authority.alerts.snapshot import CaseMember, CaseSnapshot

__all__ = [
    "AlertService",
    "AlertsConfig",
    "CaseMember",
    "CaseSnapshot",
    "PeerSink",
    "RaisedAlert",
    "alert_service_of",
    "install_alerts",
]
