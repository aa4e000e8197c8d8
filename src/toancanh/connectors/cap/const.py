"""Constants of the CAP connector: namespaces, CAP 1.2 vocabularies, limits and the category-to-domain map."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Final

DOMAIN = "cap"
CAP_NS: Final = "urn:oasis:names:tc:emergency:cap:1.2"
# CAP 1.1 differs from 1.2 only in details this connector does not read; many feeds still publish it.
CAP_NAMESPACES: Final = {CAP_NS: "1.2", "urn:oasis:names:tc:emergency:cap:1.1": "1.1"}
ATOM_NS: Final = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE: Final = "application/cap+xml"

MAX_DOCUMENT_BYTES: Final = 2 * 1024 * 1024
FETCH_TIMEOUT_S: Final = 10.0
MAX_LINKED_PER_POLL: Final = 50  # linked alerts fetched per feed and poll; the rest wait for the next poll
MAX_REMEMBERED_ENTRIES: Final = 10_000  # feed entries already fetched, so a re-poll does not fetch them again
FETCH_CONCURRENCY: Final = 4
USER_AGENT: Final = "ToanCanh-CAP/1.0"

# CAP 1.2 vocabularies, spelt as the standard writes them
STATUSES: Final = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES: Final = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES: Final = ("Public", "Restricted", "Private")
CATEGORIES: Final = (
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
)
RESPONSE_TYPES: Final = (
    "Shelter",
    "Evacuate",
    "Prepare",
    "Execute",
    "Avoid",
    "Monitor",
    "Assess",
    "AllClear",
    "None",
)
URGENCIES: Final = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES: Final = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES: Final = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")

# Only real alerts become events by default; tests, exercises, drafts and the alerting network's own
# messages (System) are logged and skipped. Ack and Error answer other messages: they warn of nothing.
DEFAULT_STATUSES: Final = ("Actual",)
RECORDED_MSG_TYPES: Final = ("Alert", "Update", "Cancel")

# The IOC domain of a CAP category (its first one). Geo (earthquake, landslide) sits with Met and Env under
# environment, where natural-disaster prevention lives; CBRNE (an attack or a toxic release) under security.
DOMAIN_BY_CATEGORY: Final = {
    "Met": "environment",
    "Env": "environment",
    "Geo": "environment",
    "Safety": "security",
    "Security": "security",
    "Rescue": "security",
    "Fire": "security",
    "CBRNE": "security",
    "Health": "health",
    "Transport": "traffic",
    "Infra": "utilities",
}
DEFAULT_DOMAIN: Final = "administration"

# <geocode> valueName that carries an administrative unit code (the IOC's own warnings write it)
GEOCODE_UNIT: Final = "VN-ADMIN"

VIETNAM_TZ: Final = timezone(timedelta(hours=7))  # Viet Nam keeps +07:00 all year (no daylight saving)


def domain_for(category: str) -> str:
    return DOMAIN_BY_CATEGORY.get(category, DEFAULT_DOMAIN)
