"""What the HTML report's evidence sections show: the scope statement, the ports register,
the run record's digest, the bundle it went into (when the run records one) and the
reviewer sign-off block. Arranged from the RunResult alone, like `view`."""

from __future__ import annotations

from typing import Any

from fleetcheck.frozen import frozen
from fleetcheck.model import RunResult
from fleetcheck.words import plural

# The register's rows and a scope's host lists show this many names inline; more collapse.
NAMES_INLINE = 12


@frozen
class EvidenceView:
    """Everything the evidence partials of the HTML template read."""

    scope: Any  # fleetcheck.evidence.scope.Scope
    register: list[Any]  # fleetcheck.evidence.register.RegisterRow
    run_digest: str
    bundle: dict[str, Any] | None
    names_inline: int = NAMES_INLINE

    @property
    def removal_candidates(self) -> int:
        """Allowances that allowed nothing on any checked host."""
        return sum(1 for r in self.register if r.removal_candidate)

    @property
    def overdue(self) -> int:
        """Allowances whose review is overdue."""
        return sum(1 for r in self.register if r.review_overdue)


def evidence(run: RunResult, recorded: RunResult | None = None) -> EvidenceView:
    """The evidence sections of `run`'s HTML report; the digest is of `recorded`, the run
    as recorded, when `run` is a copy made for showing (default: `run` itself)."""
    # Imported here: the evidence package builds on the render package.
    from fleetcheck.evidence import register, scope

    return EvidenceView(scope=scope.scope(run), register=register.rows(run),
                        run_digest=scope.run_digest(recorded or run), bundle=scope.bundle_of(run))


def evidence_line(ref: dict[str, Any]) -> str:
    """'evidence.zip, SHA256SUMS sha256 …, signed with ssh-ed25519 SHA256:…' (or unsigned)."""
    signed = f"signed with {ref['signed_by']}" if ref.get("signed_by") else "unsigned"
    return f"{ref.get('bundle')}, SHA256SUMS sha256 {ref.get('sha256')}, {signed}"


def count_word(n: int | None, word: str) -> str:
    """'3 listeners', '' for None (not applicable)."""
    if n is None:
        return ""
    return plural(n, word)
