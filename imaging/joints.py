"""The joints the hand pipeline scores, in one place (generator, training, inference, UI).

Sharp/van der Heijde (SvdH) scores joint-space narrowing 0-4 and erosion 0-5 per joint; we
score the subset of hand joints the seed's method reports: MCP 1-5, PIP 2-5, the thumb IP
and one wrist region (the radiocarpal joint stands in for the SvdH wrist sites).
"""

from __future__ import annotations

JOINTS: tuple[str, ...] = (
    "MCP1",
    "MCP2",
    "MCP3",
    "MCP4",
    "MCP5",
    "IP1",
    "PIP2",
    "PIP3",
    "PIP4",
    "PIP5",
    "WRIST",
)
N_JOINTS = len(JOINTS)
JSN_GRADES = 5  # 0-4
EROSION_GRADES = 6  # 0-5

# The seed reports agreement per joint group; the thumb IP is grouped with the PIPs as in SvdH.
GROUPS: dict[str, tuple[str, ...]] = {
    "MCP": ("MCP1", "MCP2", "MCP3", "MCP4", "MCP5"),
    "PIP": ("IP1", "PIP2", "PIP3", "PIP4", "PIP5"),
    "WRIST": ("WRIST",),
}


def group_of(joint: str) -> str:
    for group, members in GROUPS.items():
        if joint in members:
            return group
    raise KeyError(joint)


# Joints whose damage defines the synthetic "RA pattern" (MCP 2-5, PIP 2-5, wrist: the joints
# rheumatoid arthritis typically involves; the thumb IP and MCP1 are left out as in most
# RA damage patterns, and DIPs are not scored at all).
RA_JOINTS: tuple[str, ...] = (
    "MCP2",
    "MCP3",
    "MCP4",
    "MCP5",
    "PIP2",
    "PIP3",
    "PIP4",
    "PIP5",
    "WRIST",
)


def ra_pattern_label(jsn: list[int], erosion: list[int]) -> bool:
    """The synthetic ground-truth rule: at least three RA joints damaged (erosion, or narrowing
    of grade 2 or more), at least one of them eroded at an MCP or the wrist."""
    index = {name: i for i, name in enumerate(JOINTS)}
    damaged = [j for j in RA_JOINTS if erosion[index[j]] >= 1 or jsn[index[j]] >= 2]
    eroded_core = any(erosion[index[j]] >= 1 for j in ("MCP2", "MCP3", "MCP4", "MCP5", "WRIST"))
    return len(damaged) >= 3 and eroded_core
