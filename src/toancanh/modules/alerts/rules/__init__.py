"""Alert rules (quy tắc cảnh báo): definitions as data, the live evaluator, and dry runs over history."""

from toancanh.modules.alerts.rules.dryrun import DryRunResult, dry_run
from toancanh.modules.alerts.rules.engine import AssetLookup, LoadedRule, RuleEngine
from toancanh.modules.alerts.rules.spec import (
    AlertSpec,
    EventMatch,
    OnlyDuring,
    RuleSpec,
    Scope,
    When,
    parse_rule,
    parse_text,
)
from toancanh.modules.alerts.rules.types import AssetInfo, Firing, IncidentSpec, Observed, Reading

__all__ = [
    "AlertSpec",
    "AssetInfo",
    "AssetLookup",
    "DryRunResult",
    "EventMatch",
    "Firing",
    "IncidentSpec",
    "LoadedRule",
    "Observed",
    "OnlyDuring",
    "Reading",
    "RuleEngine",
    "RuleSpec",
    "Scope",
    "When",
    "dry_run",
    "parse_rule",
    "parse_text",
]
