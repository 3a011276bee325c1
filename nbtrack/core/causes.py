"""Why a replayed cell or metric differs from its original: one cause per difference.

Causes, tried in this order (the first with evidence wins):

* ``original incomplete``: nbtrack did not store the original's outputs in full (cut text, an
  output over the size limit), so there is nothing whole to compare with;
* ``secret removed``: the cell's stored source had a secret redacted, so the replay ran other
  code (the detail names the environment variable that supplies it);
* ``order``: the original ran its cells out of order up to this cell, the replay top to bottom;
* ``parameters``: the replay overrode parameters, injected before this cell (a main use of replay);
* ``timing``: the cell measures time (``time.time()``, ``%timeit``, ``perf_counter``, progress
  bars) or prints durations, and the difference is in numbers or a figure;
* ``randomness``: the cell differed between two replays (``--check-determinism``), or draws from
  a generator the restore may not cover (``uuid4``, ``secrets``, ``os.urandom``; numpy's
  unseeded generators when the original was tracked without their entropy), or draws while its
  original random state was not restored, or builds a set of objects (ordered by their memory
  addresses), or ran with a random PYTHONHASHSEED;
* ``data``: a dataset the original tracked has another fingerprint now;
* ``environment``: a package the notebook imports (or Python) has another version;
* ``unknown``: none of the above, as a last resort.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

INCOMPLETE, SECRET, ORDER, PARAMETERS = "original incomplete", "secret removed", "order", "parameters"
TIMING, RANDOMNESS, DATA, ENVIRONMENT, UNKNOWN = "timing", "randomness", "data", "environment", "unknown"
CAUSES = (INCOMPLETE, SECRET, ORDER, PARAMETERS, TIMING, RANDOMNESS, DATA, ENVIRONMENT, UNKNOWN)

_TIMING = re.compile(
    r"%%?timeit\b|%%?time\b|\btime(?:it)?\.\w+\(|\btimeit\(|\bperf_counter|\bprocess_time|\bmonotonic\(|\bdatetime\.now\(|"
    r"\bdatetime\.today\(|\btqdm\b|\bdefault_timer\b|\btime\(\)|\belapsed\b|\bTimer\("
)
_TIMED_TEXT = re.compile(r"<duration>|<rate>|<time>|\bseconds?\b|\bsec\b|\btook\b|\belapsed\b|\bper loop\b")
# generators a restore of the global states does not cover, and draws from OS entropy
_UNCOVERED = re.compile(
    r"\bdefault_rng\(\s*(?:None\s*)?\)|\bSeedSequence\(\s*\)|\bGenerator\(\s*PCG64\(\s*\)\s*\)|\buuid[14]\(|"
    r"\bsecrets\.\w+\(|\bos\.urandom\(|\bSystemRandom\b|\brandom_state\s*=\s*None\b|\bRandomState\(\s*\)|"
    r"\btorch\.Generator\(|\btf\.random\.|\bjax\.random\."
)
_DRAWS = re.compile(r"\b(?:np|numpy)\.random\.|\brandom\.\w+\(|\btorch\.(?:rand|randn|randint|randperm|normal)\w*\(|"
                    r"\bshuffle\b|\bsample\(")
_INCOMPLETE = re.compile(r"\[nbtrack: [^\]]*(?:cut here|not stored)")


@dataclass
class CellEvidence:
    """What is known about one replayed cell beyond its outputs."""

    source: str
    earlier: str = ""  # the sources of the cells replayed before it
    original_text: str = ""  # the original's outputs as stored (for cut markers)
    secrets: list[str | None] = field(default_factory=list)  # variables supplying redacted secrets
    secrets_supplied: bool = False
    out_of_order: bool = False
    parameters: str = ""  # the parameters the replay injected before this cell ("a=1, b=2")
    nondeterministic: bool | None = None  # differed between two replays (None: not checked)
    rng_restored: bool = False
    modules: Sequence[str] = ()  # top-level modules the notebook imports up to this cell
    hash_seed_known: bool = True  # False: the original ran with a random PYTHONHASHSEED


def _imports(source: str) -> set[str]:
    return set(re.findall(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", source, re.MULTILINE))


def cell_cause(evidence: CellEvidence, differences: Sequence[str], data: Iterable[Mapping[str, Any]],
               environment: Iterable[Mapping[str, Any]],
               distributions: Mapping[str, Sequence[str]] | None = None) -> tuple[str, str]:
    """(cause, detail) of a differing cell."""
    source = evidence.source
    if _INCOMPLETE.search(evidence.original_text):
        return INCOMPLETE, "nbtrack stored the original's output cut or without a part over its size limit"
    if evidence.secrets:
        named = sorted({v for v in evidence.secrets if v})
        if not evidence.secrets_supplied:
            detail = ("the source had a secret redacted; set " + ", ".join(f"${v}" for v in named)
                      + " to supply it to a replay") if named else \
                "the source had a secret redacted (no name to supply it by)"
            return SECRET, detail
    if evidence.out_of_order:
        return ORDER, "the original ran its cells out of order; the replay ran them top to bottom"
    if evidence.parameters:
        return PARAMETERS, f"the replay set {evidence.parameters}"
    text = "\n".join(differences)
    timed_here = bool(_TIMING.search(source))
    if timed_here or (_TIMED_TEXT.search(text) and _TIMING.search(evidence.earlier + "\n" + source)):
        return TIMING, "the cell measures time" if timed_here else "the output shows times measured by the notebook"
    uncovered = _UNCOVERED.search(source)
    if uncovered:
        return RANDOMNESS, f"draws from a generator no restore covers ({uncovered.group(0).strip()})"
    if evidence.nondeterministic:
        if _TIMING.search(evidence.earlier):
            return TIMING, "differed between two replays; the notebook measures time earlier"
        return RANDOMNESS, "differed between two replays of the same notebook"
    if not evidence.rng_restored and _DRAWS.search(source):
        return RANDOMNESS, "draws random numbers and its original random state was not restored"
    changed = [d for d in data if d.get("status") not in ("same", "same (not tracked by the replay)")]
    if changed:
        return DATA, "data changed: " + ", ".join(str(d.get("path")) for d in changed[:3])
    relevant = _relevant_packages(evidence, environment, distributions or {})
    if relevant:
        return ENVIRONMENT, "other versions: " + ", ".join(relevant[:5])
    if _TIMING.search(evidence.earlier) and differences and all(_numbers_only(d) for d in differences):
        return TIMING, "only numbers differ, and an earlier cell measures time"
    if evidence.nondeterministic is None and _UNCOVERED.search(evidence.earlier):
        return RANDOMNESS, "the notebook draws from a generator no restore covers"
    if _builds_set_of_objects(evidence.source):
        return RANDOMNESS, "it builds a set of objects, whose order follows their memory addresses"
    if not evidence.hash_seed_known:
        reordered = any(_same_words_reordered(d) for d in differences)
        return RANDOMNESS, ("the same values in another order: " if reordered else "") + \
            "the original ran with a random PYTHONHASHSEED (set order and string hashes vary with it)"
    return UNKNOWN, "no cause found (replay with --check-determinism to test for hidden randomness)"


def _builds_set_of_objects(source: str) -> bool:
    """A set display or ``set(...)``/``frozenset(...)`` of objects made by calls: objects without
    their own hash are ordered by address, which differs from one process to the next."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):  # IPython syntax (magics): no evidence either way
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Set):
            elements: list[ast.expr] = list(node.elts)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("set", "frozenset"):
            elements = [e for arg in node.args if isinstance(arg, (ast.List, ast.Tuple)) for e in arg.elts]
        else:
            continue
        if any(isinstance(e, ast.Call) for e in elements):
            return True
    return False


def _numbers_only(difference: str) -> bool:
    """The removed and added lines are the same but for their numbers."""
    def lines(sign: str) -> list[str]:
        return [re.sub(r"[-+]?\d[\d.,eE+-]*", "#", line[1:]) for line in difference.splitlines()
                if line.startswith(sign) and not line.startswith(sign * 3)]
    removed = lines("-")
    return bool(removed) and removed == lines("+")


def _same_words_reordered(difference: str) -> bool:
    removed = [line[1:] for line in difference.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in difference.splitlines() if line.startswith("+") and not line.startswith("+++")]
    words = re.compile(r"\w+")
    return bool(removed) and sorted(words.findall(" ".join(removed))) == sorted(words.findall(" ".join(added)))


def _relevant_packages(evidence: CellEvidence, environment: Iterable[Mapping[str, Any]],
                       distributions: Mapping[str, Sequence[str]]) -> list[str]:
    """Changed packages the notebook imports (by module, through `distributions`: module ->
    distribution names), and Python itself."""
    modules = set(evidence.modules) | _imports(evidence.earlier + "\n" + evidence.source)
    wanted = {m.lower().replace("_", "-") for m in modules}
    for module in modules:
        wanted.update(d.lower().replace("_", "-").replace(".", "-") for d in distributions.get(module, ()))
    found = []
    for row in environment:
        name = str(row.get("package") or "")
        if row.get("kind") == "changed" and (name == "python" or name in wanted):
            found.append(f"{name} {row.get('original')} -> {row.get('replay')}")
    return found


def metric_cause(row: Mapping[str, Any], cells: Sequence[Any], nondeterministic: bool | None,
                 data: Iterable[Mapping[str, Any]]) -> tuple[str, str]:
    """(cause, detail) of a differing metric: a second replay's verdict, changed data, else the
    cause of the first differing cell (metrics are computed by cells)."""
    if row.get("original") is None:
        return UNKNOWN, "logged only by the replay"
    if row.get("replay") is None:
        differing = next((c for c in cells if c.cause), None)
        if differing is not None:
            return differing.cause, f"not logged by the replay; cell {differing.index + 1} differs: {differing.cause}"
        return UNKNOWN, "not logged by the replay"
    if nondeterministic:
        return RANDOMNESS, "differed between two replays"
    if any(d.get("status") not in ("same", "same (not tracked by the replay)") for d in data):
        return DATA, "data changed"
    differing = next((c for c in cells if c.cause and c.cause != UNKNOWN), None)
    if differing is not None:
        return differing.cause, f"as cell {differing.index + 1}, which computes it"
    return UNKNOWN, "no differing cell explains it"
