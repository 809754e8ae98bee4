"""Draw the Exchange's states as a Mermaid diagram, from the same table the code runs on.

``python docs/state_diagram.py`` prints the diagram that docs/design.md carries; a test
checks the two agree, so the picture cannot drift from ``respguard._exchange.TRANSITIONS``.
"""

from __future__ import annotations

from respguard._exchange import TRANSITIONS, State


def mermaid() -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {State.START}"]
    for (source, event), targets in sorted(TRANSITIONS.items()):
        for target in sorted(targets):
            lines.append(f"    {source} --> {target}: {event}")
    lines.append(f"    {State.PASS} --> [*]")
    lines.append(f"    {State.DONE} --> [*]")
    lines.append(f"    {State.DISCARD} --> [*]")
    return "\n".join(lines)


if __name__ == "__main__":
    print(mermaid())
