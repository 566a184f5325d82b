"""Who a party is, as written into its X.509 certificate.

Rule: a party's identity is the URI subject-alternative name
``nearmiss://party/<ROLE>/<party-id>`` in a certificate issued by the network's CA. The
common name is informative only; authorization never reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509

from nearmiss.errors import AuthenticationError

PARTY_URI_PREFIX = "nearmiss://party/"
_PARTY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class Role(StrEnum):
    LAB = "LAB"
    INSTITUTE = "INSTITUTE"
    ANALYST = "ANALYST"
    AUDITOR = "AUDITOR"
    AUTHORITY = "AUTHORITY"


@dataclass(frozen=True)
class Party:
    party_id: str
    role: Role
    certificate_serial: int = 0

    @property
    def uri(self) -> str:
        return f"{PARTY_URI_PREFIX}{self.role.value}/{self.party_id}"

    def __str__(self) -> str:
        return f"{self.role.value.lower()} {self.party_id}"


def party_uri(party_id: str, role: Role) -> str:
    if not _PARTY_ID.match(party_id):
        raise ValueError(f"party id {party_id!r} must be 2-63 lowercase letters, digits or hyphens")
    return f"{PARTY_URI_PREFIX}{role.value}/{party_id}"


def party_from_certificate(certificate: x509.Certificate) -> Party:
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise AuthenticationError("the client certificate has no nearmiss party name") from None
    for uri in names.get_values_for_type(x509.UniformResourceIdentifier):
        if not uri.startswith(PARTY_URI_PREFIX):
            continue
        role_name, _, party_id = uri.removeprefix(PARTY_URI_PREFIX).partition("/")
        if role_name in Role.__members__ and _PARTY_ID.match(party_id):
            return Party(party_id, Role(role_name), certificate.serial_number)
    raise AuthenticationError("the client certificate has no valid nearmiss party name")


def party_from_pem(pem: bytes) -> Party:
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise AuthenticationError("the client certificate cannot be parsed") from None
    return party_from_certificate(certificate)
