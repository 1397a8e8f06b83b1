"""scanner-agent: DataMatrix of AMC tiers-payant attestations, from device to the GAP."""

from scanner_agent.attestation import Attestation, ErrorCode, WarningCode
from scanner_agent.parser import Stay, parse_payload

__version__ = "0.1.0"

__all__ = ["Attestation", "ErrorCode", "Stay", "WarningCode", "__version__", "parse_payload"]
