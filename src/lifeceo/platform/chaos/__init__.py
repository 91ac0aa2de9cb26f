"""Fault injection: real faults switched on at runtime by an administrator, only where chaos
is enabled, each with a magnitude and a duration, reaching every process over the live hub."""

from lifeceo.platform.chaos.board import ChaosBoard, armed
from lifeceo.platform.chaos.fault import Fault

__all__ = ["ChaosBoard", "Fault", "armed"]
